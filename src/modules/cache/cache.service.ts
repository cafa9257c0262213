import { AppError } from '../../shared/http/app-error';
import { formatFen } from '../../shared/money';
import type { Clock } from '../../shared/module';
import type { Logger } from '../../shared/logger';
import type { AnchorServiceClient } from '../anchor/contract';
import type { AudienceServiceClient } from '../audience/contract';
import type { createCacheStats } from './cache-stats';
import type { KeyBrowser } from './key-browser';

export function createCacheService(deps: {
  keys: KeyBrowser;
  stats: ReturnType<typeof createCacheStats>;
  anchor: AnchorServiceClient;
  audience: AudienceServiceClient;
  clock: Clock;
  logger: Logger;
}) {
  const { keys, anchor, audience } = deps;
  return {
    keys,
    stats: () => keys.answered(() => deps.stats.read(keys.usableClient())),

    /** The room's realtime keys (flushed, counted again from DB1, cached row dropped) and its TOP10 boards, rebuilt. */
    async rebuildRoom(liveRoomId: number) {
      keys.usableClient();
      if (!(await anchor.getLiveRoom(liveRoomId))) throw AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${liveRoomId}.`);
      await anchor.recountRealtime(liveRoomId);
      const boards = await audience.rebuildRoomBoards(liveRoomId);
      // A read that loaded the DB1 row before the recount committed may have cached it after the
      // recount dropped it: dropped once more, now that the boards took their time.
      await keys.drop([`live:room:base:{${liveRoomId}}`]);
      const figures = await anchor.getRealtime(liveRoomId);
      deps.logger.info(
        { liveRoomId, totalEarningsFen: figures.totalEarningsFen, rechargeCount: figures.rechargeCount },
        'room caches rebuilt',
      );
      return {
        liveRoomId,
        realtime: {
          totalEarnings: formatFen(figures.totalEarningsFen),
          rechargeCount: figures.rechargeCount,
          source: figures.source,
          updatedAt: figures.updatedAt,
        },
        boards,
        rebuiltAt: deps.clock().toISOString(),
      };
    },
  };
}

export type CacheService = ReturnType<typeof createCacheService>;
