import { LRUCache } from 'lru-cache';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { AnchorServiceClient, RewardTargetDto } from '../../anchor/contract';

export interface RewardTargetLookup {
  /** The rooms found (absent ids do not exist). */
  targets: RewardTargetDto[];
  /** Rooms that could not be checked at all: their rewards answer 503 and store nothing. */
  unchecked: ReadonlySet<number>;
}

export interface RewardTargets {
  lookup(liveRoomIds: readonly number[]): Promise<RewardTargetLookup>;
}

export type RoomCheckSource = 'anchor' | 'remembered' | 'unchecked';

/**
 * The rooms a group of rewards goes to, asked of the anchor module (behind its breaker). When the
 * module does not answer, each room's last answer no older than `rememberMs` stands in for it, so
 * rewards keep flowing to rooms that were live a moment ago while the anchor module is down (a
 * room stopped meanwhile may take a reward it would have refused); a room not seen recently
 * cannot be judged and its rewards answer 503.
 */
export function createRewardTargets(deps: {
  anchor: Pick<AnchorServiceClient, 'getRewardTargets'>;
  logger: Logger;
  rememberMs: number;
  onCheck: (source: RoomCheckSource, rooms: number) => void;
}): RewardTargets {
  const remembered = deps.rememberMs > 0 ? new LRUCache<number, RewardTargetDto>({ max: 100_000, ttl: deps.rememberMs }) : null;

  return {
    async lookup(liveRoomIds) {
      try {
        const targets = await deps.anchor.getRewardTargets(liveRoomIds);
        const found = new Set(targets.map((t) => t.liveRoomId));
        for (const target of targets) remembered?.set(target.liveRoomId, target);
        for (const id of liveRoomIds) if (!found.has(id)) remembered?.delete(id);
        deps.onCheck('anchor', liveRoomIds.length);
        return { targets, unchecked: new Set() };
      } catch (error) {
        if (error instanceof AppError && error.status < 500) throw error;
        const targets: RewardTargetDto[] = [];
        const unchecked = new Set<number>();
        for (const id of liveRoomIds) {
          const target = remembered?.get(id);
          if (target) targets.push(target);
          else unchecked.add(id);
        }
        deps.onCheck('remembered', targets.length);
        deps.onCheck('unchecked', unchecked.size);
        deps.logger.warn(
          { err: error, remembered: targets.length, unchecked: unchecked.size, degraded: true },
          'anchor module did not answer; judging rewards by the rooms as last seen',
        );
        return { targets, unchecked };
      }
    },
  };
}
