import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { RealtimeViewDto } from '../contract';
import type { RoomBases } from './realtime-base';
import { viewFromRedis, viewFromRow } from './realtime-figures';
import { createManyRoomsRead } from './realtime-many.service';
import type { RealtimeMetrics } from './realtime.metrics';
import type { RealtimeStore } from './realtime.redis';

export interface RealtimeReadDeps {
  db: Db;
  /** The Redis side when Redis is usable now, else null. */
  usableStore: () => RealtimeStore | null;
  bases: RoomBases;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** How long a base read from DB1 stays cached in Redis. */
  baseTtlMs: number;
}

/**
 * The reads of the figures: DB1's row (cached in Redis) plus what Redis holds beyond it, read in
 * one atomic script call; DB1's row alone (`source: db`) when Redis is unusable or the read fails,
 * so a Redis fault leaves out what Redis had not flushed yet rather than failing the read.
 */
export function createRealtimeReads(deps: RealtimeReadDeps) {
  const { bases, logger } = deps;

  /** One room; 404 when there is no such room. */
  async function getRealtime(liveRoomId: number): Promise<RealtimeViewDto> {
    const store = deps.usableStore();
    if (store) {
      try {
        const view = await store.read(liveRoomId);
        return viewFromRedis(liveRoomId, await bases.baseFor(store, liveRoomId, view), view);
      } catch (error) {
        if (error instanceof AppError) throw error;
        logger.warn({ err: error, liveRoomId }, 'redis read failed; answering from DB1');
      }
    }
    return viewFromRow(await bases.loadRow(liveRoomId));
  }

  /** Several rooms in the order asked, unknown ids left out: one Redis round trip and at most one DB1 query. */
  const getMany = createManyRoomsRead({
    db: deps.db,
    usableStore: deps.usableStore,
    metrics: deps.metrics,
    logger,
    baseTtlMs: deps.baseTtlMs,
  });

  return { getRealtime, getMany };
}
