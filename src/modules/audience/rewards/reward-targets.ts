import { LRUCache } from 'lru-cache';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { AnchorServiceClient, RewardTargetDto } from '../../anchor/contract';

export interface RewardTargetLookup {
  /** The rooms found (absent ids do not exist). */
  targets: RewardTargetDto[];
  /** Rooms that could not be checked at all: their rewards answer 503 and store nothing. */
  unchecked: ReadonlySet<number>;
  /** Whether the anchor module answered, or the rooms were judged as last seen. */
  answered: boolean;
}

export interface RewardTargets {
  /** `waitingSince`: when the longest-waiting reward of the group arrived (`performance.now()`). */
  lookup(liveRoomIds: readonly number[], waitingSince: number): Promise<RewardTargetLookup>;
}

export type RoomCheckSource = 'anchor' | 'remembered' | 'unchecked';

/**
 * The rooms a group of rewards goes to, asked of the anchor module (behind its breaker). When the
 * module does not answer, each room's last answer no older than `rememberMs` stands in for it, so
 * rewards keep flowing to rooms that were live a moment ago while the anchor module is down (a
 * room stopped meanwhile may take a reward it would have refused); a room not seen recently
 * cannot be judged and its rewards answer 503.
 *
 * While the module does not answer (the last check got no answer), a group's check gives up once
 * its longest-waiting reward has waited `callTimeoutMs`: rewards queued behind a check that timed
 * out would otherwise wait for a second one, and a reward then costs twice the timeout.
 */
export function createRewardTargets(deps: {
  anchor: Pick<AnchorServiceClient, 'getRewardTargets'>;
  logger: Logger;
  rememberMs: number;
  /** The breaker timeout of the anchor module's calls on the reward path (ANCHOR_CALL_TIMEOUT_MS). */
  callTimeoutMs: number;
  onCheck: (source: RoomCheckSource, rooms: number) => void;
}): RewardTargets {
  const remembered = deps.rememberMs > 0 ? new LRUCache<number, RewardTargetDto>({ max: 100_000, ttl: deps.rememberMs }) : null;
  let silent = false;

  function remember(liveRoomIds: readonly number[], targets: readonly RewardTargetDto[]): void {
    silent = false;
    const found = new Set(targets.map((t) => t.liveRoomId));
    for (const target of targets) remembered?.set(target.liveRoomId, target);
    for (const id of liveRoomIds) if (!found.has(id)) remembered?.delete(id);
  }

  /** The module's answer, or a failure once the group's rewards have waited their timeout (the call goes on; its answer is remembered). */
  async function ask(liveRoomIds: readonly number[], waitingSince: number): Promise<RewardTargetDto[]> {
    if (!silent) return deps.anchor.getRewardTargets(liveRoomIds);
    const leftMs = waitingSince + deps.callTimeoutMs - performance.now();
    if (leftMs <= 0) throw new Error('the anchor module is not answering and these rewards have waited their timeout');
    const call = deps.anchor.getRewardTargets(liveRoomIds);
    call.then((targets) => remember(liveRoomIds, targets)).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        call,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('the anchor module did not answer while these rewards could wait')), leftMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async lookup(liveRoomIds, waitingSince) {
      try {
        const targets = await ask(liveRoomIds, waitingSince);
        remember(liveRoomIds, targets);
        deps.onCheck('anchor', liveRoomIds.length);
        return { targets, unchecked: new Set(), answered: true };
      } catch (error) {
        if (error instanceof AppError && error.status < 500) throw error;
        silent = true;
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
        return { targets, unchecked, answered: false };
      }
    },
  };
}
