import type { Db } from '../../../shared/db/knex';
import { retryOnConflict } from '../../../shared/db/retry';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import type { RedisHandle } from '../../../shared/redis';
import { createRealtimeApply } from './realtime-apply';
import { createRoomBases } from './realtime-base';
import { createRealtimeFlush } from './realtime-flush';
import { createRealtimeReads } from './realtime-read';
import type { RealtimeMetrics } from './realtime.metrics';
import type { RefundedRewardCommand } from '../contract';
import type { RoomEvent } from '../live-events/room-event';
import { unsettleSessionTotals } from '../live-rooms/live-sessions.repository';
import { takeOutRefunded } from './realtime.repository';
import { createRealtimeStore, type EventLogSettings, type RealtimeStore } from './realtime.redis';

export interface RealtimeSettings {
  /** A room is flushed once this many rewards are pending in Redis. */
  flushThreshold: number;
  /** How long the cached copy of a room's DB1 row lives in Redis. */
  baseTtlMs?: number;
  /** Each room's reward events in Redis (the SSE replay log). */
  eventLog: EventLogSettings;
}

export interface RealtimeServiceDeps {
  db: Db;
  redis: RedisHandle;
  keyPrefix: string;
  clock: Clock;
  logger: Logger;
  metrics: RealtimeMetrics;
  settings: RealtimeSettings;
  /** A reward counted straight into DB1: its event, for this instance's own event log. */
  onCountedInDb: (event: Omit<RoomEvent, 'id'>) => void;
}

/**
 * A room's realtime figures. With Redis: each reward is one atomic Lua call adding to the room's
 * pending delta (idempotent per rechargeId); the delta is folded into `live_room_realtime` after
 * `flushThreshold` rewards or by the flush job. Without Redis (or when a Redis call fails): straight
 * into DB1, through the same journal, so a reward counted both ways is still counted once.
 *
 * This is the one face the module uses; the mechanisms live beside it: the apply path
 * (realtime-apply.ts, grouped per turn in realtime-apply-batch.ts), the flush protocol
 * (realtime-flush.ts), the reads (realtime-read.ts) and the rooms' cached bases (realtime-base.ts).
 */
export function createRealtimeService(deps: RealtimeServiceDeps) {
  const { db, redis, clock, logger, metrics } = deps;
  const baseTtlMs = deps.settings.baseTtlMs ?? 30_000;
  const store: RealtimeStore | null = redis.client ? createRealtimeStore(redis.client, deps.keyPrefix, deps.settings.eventLog) : null;
  /** The Redis side when Redis answers now, else null: then the parts fall back to DB1 or do without. */
  const usableStore = (): RealtimeStore | null => (store && redis.isUsable() ? store : null);
  const bases = createRoomBases({ db, metrics, baseTtlMs });
  const flush = createRealtimeFlush({ db, clock, logger, metrics, store, usableStore });
  const { applyReward, countManyInDb } = createRealtimeApply({
    db,
    clock,
    logger,
    metrics,
    store,
    usableStore,
    bases,
    flushThreshold: deps.settings.flushThreshold,
    onFlushDue: flush.scheduleFlush,
    baseTtlMs,
    onCountedInDb: deps.onCountedInDb,
  });
  const { getRealtime, getMany } = createRealtimeReads({ db, usableStore, bases, metrics, logger, baseTtlMs });

  return {
    /** Idempotent per rechargeId. Redis when usable; DB1 when not, or when the Redis call fails. */
    applyReward,

    /** One room; 404 when there is no such room. DB1's row alone (`source: db`) while Redis is unusable. */
    getRealtime,

    /** Several rooms in the order asked, unknown ids left out: one Redis round trip and at most one DB1 query. */
    getMany,

    /** Flushes one room now (waits for a flush already running for it). */
    flushRoomNow: flush.flushRoomNow,

    /** The flush job: every room with a pending or half-done delta. */
    flushAll: flush.flushAll,

    /**
     * Counts rewards of one room straight into DB1 (its journal decides: at most once ever), bypassing
     * Redis, a chunk per transaction: how reconciliation puts back rewards, whatever Redis remembers of
     * their ids. Returns how many were counted now.
     */
    countInDb: countManyInDb,

    /**
     * Takes a refunded reward out of the room's row in DB1 (once ever: realtime.repository.ts), and
     * has its session's stored totals counted again. The cached base is dropped on every call, so a
     * read that primed the old row meanwhile lasts only until the next delivery (the refund job sends
     * each refund twice, the second well after the first).
     */
    async takeOutRefunded(command: RefundedRewardCommand): Promise<{ takenOut: boolean }> {
      const takenOut = await retryOnConflict(() =>
        db.transaction(async (trx) => {
          const now = clock();
          if (command.liveSessionId !== null) await unsettleSessionTotals(trx, command.liveSessionId);
          return takeOutRefunded(trx, {
            liveRoomId: command.liveRoomId,
            rechargeId: command.rechargeId,
            amountFen: command.amountFen,
            now,
          });
        }),
      );
      await usableStore()
        ?.forgetBase(command.liveRoomId)
        .catch(() => undefined);
      if (takenOut)
        logger.info({ rechargeId: command.rechargeId, liveRoomId: command.liveRoomId }, 'refunded reward taken out of the room');
      return { takenOut };
    },

    /** Tells Redis the room's journal floor, so it refuses rewards at or below it before they reach a flush. */
    async raiseFloor(liveRoomId: number, floorId: number): Promise<void> {
      await usableStore()
        ?.raiseFloor(liveRoomId, floorId)
        .catch(() => undefined);
    },

    /** Drops the cached base so the next read sees a changed room (status) at once. */
    async forgetCachedRoom(liveRoomId: number): Promise<void> {
      await usableStore()
        ?.forgetBase(liveRoomId)
        .catch(() => undefined);
    },

    /** rechargeId -> amount counted in Redis but maybe not in DB1 yet; empty without Redis. */
    async unflushedRewards(liveRoomId: number): Promise<Map<number, number>> {
      const s = usableStore();
      return s ? s.unflushedRewards(liveRoomId) : new Map();
    },

    /**
     * Which of these rewards Redis holds for the room (pending, being flushed, just flushed); none
     * without Redis. 503 while a configured Redis does not answer: then nobody can tell.
     */
    async heldInRedis(liveRoomId: number, rechargeIds: readonly number[]): Promise<Set<number>> {
      if (!store) return new Set();
      const s = usableStore();
      if (!s) throw AppError.unavailable('Redis does not answer: what it holds cannot be told.');
      return s.holds(liveRoomId, rechargeIds);
    },

    /** The Redis server's run id (null without a usable Redis): a change means it restarted or was replaced. */
    async redisRunId(): Promise<string | null> {
      const s = usableStore();
      return s ? s.serverRunId() : null;
    },

    /** Rooms with something in Redis not yet folded into DB1. */
    async roomsWithUnflushed(): Promise<number[]> {
      const s = usableStore();
      return s ? s.roomsToFlush() : [];
    },

    /** Waits for background flushes (shutdown, tests). */
    drain: flush.drain,
  };
}

export type RealtimeService = ReturnType<typeof createRealtimeService>;
