import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import type { RedisHandle } from '../../../shared/redis';
import type { Period } from '../../../shared/time-zone';
import type { BoardScope } from './boards.repository';
import { boardKeys, type BoardKeys, type BoardStore, type CountedReward } from './boards.redis';
import type { PeriodCalendar } from './period-calendar';

/** A room's boards; the platform has no all-time board in Redis (it is the viewers' consumption totals). */
export const ROOM_PERIODS: readonly Period[] = ['day', 'week', 'month', 'all'];
export const PLATFORM_PERIODS: readonly Period[] = ['day', 'week', 'month'];
export const PLATFORM: BoardScope = { liveRoomId: null };

export interface StoredReward extends CountedReward {
  liveRoomId: number;
}

export type RecordOutcome = 'sent' | 'missed';

/** A scope's boards and the rewards of a turn counted on them. */
interface BoardGroup {
  boards: BoardKeys[];
  rewards: CountedReward[];
}

/**
 * The reward path's part in the boards: after commit, off the request's critical path (nothing
 * waits for it), the rewards of a turn of the event loop go to Redis in one pipeline — one script
 * call per room among them, with that room's rewards, and one for the platform, with all of them
 * (a room's boards and the platform's are different slots, so no call can carry both). A turn's
 * rewards are those of the group commits that completed in it (the reward writer resolves a
 * transaction's rewards together), so a turn is the natural batch: a timer would join the next
 * commit's rewards only when it lands within the window, and would hold every reward meanwhile. The
 * store splits a group past `REWARDS_PER_CALL` into several calls; a turn that straddles the start
 * of a day (week, month) makes one call per side. A reward that does not reach Redis
 * (Redis unusable, the pipeline failed or timed out) is caught up from DB1 by the boards' next load:
 * `missedSince` tells the loads of this instance to catch up to the present, not only to the settle
 * delay, until every missed reward is older than that delay.
 */
export function createBoardRecorder(deps: {
  redis: RedisHandle;
  store: BoardStore | null;
  calendar: PeriodCalendar;
  clock: Clock;
  logger: Logger;
  onOutcome: (outcome: RecordOutcome, rewards: number) => void;
}) {
  const { redis, store, calendar } = deps;
  let queued: StoredReward[] = [];
  let lastMissMs = Number.NEGATIVE_INFINITY;

  function boardsOf(scope: BoardScope, periods: readonly Period[], at: Date): BoardKeys[] {
    return periods.map((period) => boardKeys(scope, period, calendar.bounds(period, at).from));
  }

  function missed(count: number, error?: unknown): void {
    lastMissMs = deps.clock().getTime();
    deps.onOutcome('missed', count);
    if (error)
      deps.logger.warn(
        { err: error, rewards: count, degraded: true },
        'rewards did not reach the boards in redis; the next loads catch them up',
      );
  }

  /** The rewards by scope and boards: a group per room, one for the platform (per period start, should a turn straddle one). */
  function groupByBoards(rewards: readonly StoredReward[]): BoardGroup[] {
    const groups = new Map<string, BoardGroup>();
    function add(scope: BoardScope, periods: readonly Period[], at: Date, starts: string, reward: StoredReward): void {
      const key = `${scope.liveRoomId ?? 'platform'}@${starts}`;
      let group = groups.get(key);
      if (!group) {
        group = { boards: boardsOf(scope, periods, at), rewards: [] };
        groups.set(key, group);
      }
      group.rewards.push(reward);
    }
    for (const reward of rewards) {
      const at = new Date(reward.createdAtMs);
      // The starts of its day, week and month name its boards in both scopes (a room's all-time board has none).
      const starts = PLATFORM_PERIODS.map((period) => calendar.bounds(period, at).from?.getTime()).join(',');
      add({ liveRoomId: reward.liveRoomId }, ROOM_PERIODS, at, starts, reward);
      add(PLATFORM, PLATFORM_PERIODS, at, starts, reward);
    }
    return [...groups.values()];
  }

  function send(): void {
    const rewards = queued;
    queued = [];
    if (!store || !redis.isUsable()) return missed(rewards.length);
    store.apply(groupByBoards(rewards)).then(
      () => deps.onOutcome('sent', rewards.length),
      (error: unknown) => missed(rewards.length, error),
    );
  }

  return {
    /** Queues a committed reward for the boards; sent at the end of this turn of the event loop. */
    record(reward: StoredReward): void {
      if (!redis.client) return;
      queued.push(reward);
      if (queued.length === 1) setImmediate(send);
    },
    /** When this instance last failed to send rewards to the boards (clock ms), or -Infinity. */
    lastMissMs: () => lastMissMs,
  };
}

export type BoardRecorder = ReturnType<typeof createBoardRecorder>;

/** The boards a reward of this room at this time counts on: its room's (day, week, month, all) and the platform's (day, week, month). */
export function boardsOfReward(calendar: PeriodCalendar, liveRoomId: number, at: Date): { room: BoardKeys[]; platform: BoardKeys[] } {
  const of = (scope: BoardScope, periods: readonly Period[]) =>
    periods.map((period) => boardKeys(scope, period, calendar.bounds(period, at).from));
  return { room: of({ liveRoomId }, ROOM_PERIODS), platform: of(PLATFORM, PLATFORM_PERIODS) };
}
