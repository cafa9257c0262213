import type { Db } from '../../../shared/db/knex';
import { chunks } from '../../../shared/chunks';
import { retryOnConflict } from '../../../shared/db/retry';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import type { RedisHandle } from '../../../shared/redis';
import { currentTraceId } from '../../../shared/trace';
import type { ApplyRewardCommand, RealtimeFiguresDto, RealtimeViewDto } from '../contract';
import { baseOfRow, combine, viewFromRedis, viewFromRow, type Base } from './realtime-figures';
import { createManyRoomsRead } from './realtime-many.service';
import type { RealtimeMetrics } from './realtime.metrics';
import { addRewards, findRealtime, lastFlushId, type RealtimeRow } from './realtime.repository';
import { createRealtimeStore, type RealtimeStore, type RedisView } from './realtime.redis';

export interface RealtimeSettings {
  /** A room is flushed once this many rewards are pending in Redis. */
  flushThreshold: number;
  /** How long the cached copy of a room's DB1 row lives in Redis. */
  baseTtlMs?: number;
}

export interface RealtimeServiceDeps {
  db: Db;
  redis: RedisHandle;
  keyPrefix: string;
  clock: Clock;
  logger: Logger;
  metrics: RealtimeMetrics;
  settings: RealtimeSettings;
}

function liveRoomNotFound(id: number): AppError {
  return AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${id}.`);
}

/**
 * A room's realtime figures. With Redis: each reward is one atomic Lua call adding to the room's
 * pending delta (idempotent per rechargeId); the delta is folded into `live_room_realtime` after
 * `flushThreshold` rewards or by the flush job. Without Redis (or when a Redis call fails): straight
 * into DB1, through the same journal, so a reward counted both ways is still counted once.
 */
export function createRealtimeService(deps: RealtimeServiceDeps) {
  const { db, redis, clock, logger, metrics } = deps;
  const baseTtlMs = deps.settings.baseTtlMs ?? 30_000;
  const store: RealtimeStore | null = redis.client ? createRealtimeStore(redis.client, deps.keyPrefix) : null;
  /** Rooms known to exist (rooms are never deleted), so the hot path skips the existence query. */
  const knownRooms = new Set<number>();
  const flushing = new Map<number, Promise<void>>();

  async function loadRow(liveRoomId: number): Promise<RealtimeRow> {
    const [row] = await findRealtime(db, [liveRoomId]);
    if (!row) throw liveRoomNotFound(liveRoomId);
    if (knownRooms.size > 100_000) knownRooms.clear();
    knownRooms.add(liveRoomId);
    return row;
  }

  function usableStore(): RealtimeStore | null {
    return store && redis.isUsable() ? store : null;
  }

  /** The room's base: Redis's cached copy when present (a hit), else DB1, cached for the next read. */
  async function baseFor(s: RealtimeStore, liveRoomId: number, view: RedisView): Promise<Base> {
    if (view.base) {
      metrics.cache.inc({ result: 'hit' });
      return view.base;
    }
    metrics.cache.inc({ result: 'miss' });
    const base = baseOfRow(await loadRow(liveRoomId));
    // A failed prime only costs the next read a miss.
    await s.prime(liveRoomId, base, baseTtlMs).catch(() => false);
    return base;
  }

  /** `redisFailed`: the Redis apply failed and may still run late, so the room is marked for the heal job's flush. */
  async function applyInDb(command: ApplyRewardCommand, options: { redisFailed?: boolean } = {}): Promise<RealtimeFiguresDto> {
    const result = await retryOnConflict(() =>
      db.transaction((trx) =>
        addRewards(trx, {
          liveRoomId: command.liveRoomId,
          rewards: new Map([[command.rechargeId, command.amountFen]]),
          flushId: null,
          now: clock(),
          wantFlush: options.redisFailed === true,
        }),
      ),
    );
    if (result === 'no-room') throw liveRoomNotFound(command.liveRoomId);
    metrics.applied.inc({ path: 'db', outcome: result !== 'already-flushed' && result.count > 0 ? 'applied' : 'duplicate' });
    // The cached base in Redis no longer matches DB1; drop it if Redis answers (its TTL bounds it otherwise).
    store?.forgetBase(command.liveRoomId).catch(() => undefined);
    const row = await loadRow(command.liveRoomId);
    return { liveRoomId: row.live_room_id, totalEarningsFen: row.total_earnings, rechargeCount: row.recharge_count, degraded: true };
  }

  /**
   * Rewards for one room that arrive in the same turn of the event loop (a committed group of
   * rewards notifies together) go to Redis as one script call instead of one each.
   */
  const waiting = new Map<
    number,
    Array<{ command: ApplyRewardCommand; resolve(result: { fresh: boolean; view: RedisView }): void; reject(error: unknown): void }>
  >();
  let drainScheduled = false;

  function drainWaiting(s: RealtimeStore): void {
    drainScheduled = false;
    const groups = [...waiting];
    waiting.clear();
    for (const [liveRoomId, list] of groups) {
      for (const part of chunks(list, 500)) {
        s.apply(
          liveRoomId,
          part.map((w) => w.command),
          clock(),
        ).then(
          ({ fresh, view }) => part.forEach((w, i) => w.resolve({ fresh: fresh[i] ?? false, view })),
          (error: unknown) => part.forEach((w) => w.reject(error)),
        );
      }
    }
  }

  function applyTogether(s: RealtimeStore, command: ApplyRewardCommand): Promise<{ fresh: boolean; view: RedisView }> {
    return new Promise((resolve, reject) => {
      const list = waiting.get(command.liveRoomId) ?? [];
      list.push({ command, resolve, reject });
      waiting.set(command.liveRoomId, list);
      if (!drainScheduled) {
        drainScheduled = true;
        setImmediate(() => drainWaiting(s));
      }
    });
  }

  async function applyInRedis(s: RealtimeStore, command: ApplyRewardCommand): Promise<RealtimeFiguresDto> {
    if (!knownRooms.has(command.liveRoomId)) await loadRow(command.liveRoomId);
    const { fresh, view } = await applyTogether(s, command);
    metrics.applied.inc({ path: 'redis', outcome: fresh ? 'applied' : 'duplicate' });
    if (view.pendingCount >= deps.settings.flushThreshold) scheduleFlush(command.liveRoomId);
    const figures = combine(await baseFor(s, command.liveRoomId, view), view);
    return { liveRoomId: command.liveRoomId, totalEarningsFen: figures.earnings, rechargeCount: figures.count, degraded: false };
  }

  /**
   * Moves a room's pending delta into DB1: snapshot -> one transaction -> acknowledge. Safe to
   * re-run after a crash at any step: a left-behind snapshot is finished first (the DB1 row's
   * last_flush_id tells whether its transaction already committed), then the pending delta.
   */
  async function flushRoom(s: RealtimeStore, liveRoomId: number): Promise<void> {
    for (let round = 0; round < 3; round += 1) {
      const last = await lastFlushId(db, liveRoomId);
      if (last === null) {
        logger.warn({ liveRoomId }, 'realtime delta for a room without a realtime row; left in Redis');
        return;
      }
      const snap = await s.snapshot(liveRoomId, last + 1);
      if (!snap) return;
      if (snap.id > last) {
        const rewards = await s.flushingRewards(liveRoomId);
        const result = await retryOnConflict(() =>
          db.transaction((trx) => addRewards(trx, { liveRoomId, rewards, flushId: snap.id, now: clock() })),
        );
        if (typeof result === 'object') {
          metrics.flushes.inc();
          if (result.count !== rewards.size)
            logger.info(
              { liveRoomId, flushId: snap.id, duplicates: rewards.size - result.count },
              'flush skipped rewards DB1 already counted',
            );
        }
      }
      await s.ack(liveRoomId, snap.id);
      if (!snap.resumed) return;
    }
  }

  /** One flush of a room at a time in this process: a flush asked for meanwhile runs after the current one. */
  function flushInTurn(s: RealtimeStore, liveRoomId: number): Promise<void> {
    const run = (flushing.get(liveRoomId) ?? Promise.resolve()).then(() => flushRoom(s, liveRoomId));
    const settled = run.catch(() => undefined);
    flushing.set(liveRoomId, settled);
    void settled.finally(() => {
      if (flushing.get(liveRoomId) === settled) flushing.delete(liveRoomId);
    });
    return run;
  }

  /** A room reached the threshold: flush it in the background unless a flush of it is under way. */
  function scheduleFlush(liveRoomId: number): void {
    if (flushing.has(liveRoomId) || !store) return;
    flushInTurn(store, liveRoomId).catch((error: unknown) =>
      logger.warn({ err: error, liveRoomId }, 'realtime flush failed; the delta stays in Redis for the next one'),
    );
  }

  async function readView(liveRoomId: number): Promise<RealtimeViewDto> {
    const s = usableStore();
    if (s) {
      try {
        const view = await s.read(liveRoomId);
        return viewFromRedis(liveRoomId, await baseFor(s, liveRoomId, view), view);
      } catch (error) {
        if (error instanceof AppError) throw error;
        logger.warn({ err: error, liveRoomId }, 'redis read failed; answering from DB1');
      }
    }
    return viewFromRow(await loadRow(liveRoomId));
  }

  const readMany = createManyRoomsRead({ db, usableStore, metrics, logger, baseTtlMs });

  return {
    /** Idempotent per rechargeId. Redis when usable; DB1 when not, or when the Redis call fails. */
    async applyReward(command: ApplyRewardCommand): Promise<RealtimeFiguresDto> {
      const log = currentTraceId() === command.traceId ? logger : logger.child({ rewardTraceId: command.traceId });
      log.info(
        { liveRoomId: command.liveRoomId, rechargeId: command.rechargeId, amountFen: command.amountFen },
        'reward notification received',
      );
      const s = usableStore();
      let figures: RealtimeFiguresDto | null = null;
      let redisFailed = false;
      if (s) {
        try {
          figures = await applyInRedis(s, command);
        } catch (error) {
          if (error instanceof AppError) throw error;
          // It may still run in Redis (a frozen Redis thawing): the journal in DB1 keeps it counted once,
          // and the room's flush mark has the heal job flush the late copy away as soon as Redis answers.
          redisFailed = true;
          log.warn({ err: error, liveRoomId: command.liveRoomId }, 'redis unusable for realtime; writing to DB1');
        }
      }
      figures ??= await applyInDb(command, { redisFailed });
      log.info(
        {
          liveRoomId: command.liveRoomId,
          rechargeId: command.rechargeId,
          source: figures.degraded ? 'db' : 'redis',
          key: `live:room:earnings:{${command.liveRoomId}}`,
        },
        'realtime figures updated',
      );
      return figures;
    },

    getRealtime: readView,

    /** Several rooms in the order asked, unknown ids left out: one Redis round trip and at most one DB1 query. */
    getMany: readMany,

    /** Flushes one room now (waits for a flush already running for it). */
    async flushRoomNow(liveRoomId: number): Promise<void> {
      const s = usableStore();
      if (!s) return;
      await flushInTurn(s, liveRoomId);
    },

    /** The flush job: every room with a pending or half-done delta. */
    async flushAll(): Promise<{ rooms: number }> {
      const s = usableStore();
      if (!s) return { rooms: 0 };
      const rooms = await s.roomsToFlush();
      for (const id of rooms) await flushInTurn(s, id);
      return { rooms: rooms.length };
    },

    /**
     * Counts a reward straight into DB1 (its journal decides: at most once ever), bypassing Redis:
     * how reconciliation puts back a reward, whatever Redis remembers of the id.
     */
    countInDb: applyInDb,

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
    async drain(): Promise<void> {
      await Promise.all([...flushing.values()]);
    },
  };
}

export type RealtimeService = ReturnType<typeof createRealtimeService>;
