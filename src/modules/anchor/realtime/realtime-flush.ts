import { eachConcurrently } from '../../../shared/chunks';
import type { Db } from '../../../shared/db/knex';
import { retryOnConflict } from '../../../shared/db/retry';
import { failpoint } from '../../../shared/failpoints';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import type { RealtimeMetrics } from './realtime.metrics';
import { addRewards, lastFlushId } from './realtime.repository';
import type { RealtimeStore } from './realtime.redis';

/** A flush finishes a snapshot left behind, then takes the pending delta: at most this many rounds, so it always ends. */
const ROUNDS_PER_FLUSH = 3;
/**
 * Rooms the flush job folds at once: each is a few round trips to Redis and one short DB1
 * transaction on its own row, so rooms in parallel overlap those waits (1,000 rooms one after the
 * other took about 8 s); eight leave most of the pool to requests.
 */
const ROOMS_AT_ONCE = 8;

export interface RealtimeFlushDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: RealtimeMetrics;
  /** The Redis side when Redis is configured, answering or not (null without REDIS_URL). */
  store: RealtimeStore | null;
  /** The Redis side when Redis is usable now, else null. */
  usableStore: () => RealtimeStore | null;
}

/**
 * Folds rooms' pending deltas from Redis into `live_room_realtime`: snapshot -> one DB1
 * transaction guarded by last_flush_id -> acknowledge, so a crash at any step neither loses nor
 * doubles a delta. One flush of a room at a time in this process; a room that reached the
 * threshold is flushed in the background, the others by the flush job.
 */
export function createRealtimeFlush(deps: RealtimeFlushDeps) {
  const { db, clock, logger, metrics } = deps;
  const flushing = new Map<number, Promise<void>>();

  /** The snapshot's rewards into DB1 in one transaction; DB1 skips what its journal already holds. */
  async function writeSnapshot(store: RealtimeStore, liveRoomId: number, flushId: number): Promise<void> {
    const rewards = await store.flushingRewards(liveRoomId);
    const result = await retryOnConflict(() => db.transaction((trx) => addRewards(trx, { liveRoomId, rewards, flushId, now: clock() })));
    if (typeof result !== 'object') return;
    metrics.flushes.inc();
    if (result.count !== rewards.size)
      logger.info({ liveRoomId, flushId, duplicates: rewards.size - result.count }, 'flush skipped rewards DB1 already counted');
  }

  /**
   * Safe to re-run after a crash at any step: a left-behind snapshot is finished first (the DB1
   * row's last_flush_id tells whether its transaction already committed), then the pending delta.
   */
  async function flushRoom(store: RealtimeStore, liveRoomId: number): Promise<void> {
    for (let round = 0; round < ROUNDS_PER_FLUSH; round += 1) {
      const last = await lastFlushId(db, liveRoomId);
      if (last === null) {
        logger.warn({ liveRoomId }, 'realtime delta for a room without a realtime row; left in Redis');
        return;
      }
      const snap = await store.snapshot(liveRoomId, last + 1);
      if (!snap) return;
      await failpoint('flush.afterSnapshot');
      if (snap.id > last) {
        await writeSnapshot(store, liveRoomId, snap.id);
        await failpoint('flush.afterDb1Commit');
      }
      await store.ack(liveRoomId, snap.id);
      if (!snap.resumed) return;
    }
  }

  /** One flush of a room at a time in this process: a flush asked for meanwhile runs after the current one. */
  function flushInTurn(store: RealtimeStore, liveRoomId: number): Promise<void> {
    const run = (flushing.get(liveRoomId) ?? Promise.resolve()).then(() => flushRoom(store, liveRoomId));
    const settled = run.catch(() => undefined);
    flushing.set(liveRoomId, settled);
    void settled.finally(() => {
      if (flushing.get(liveRoomId) === settled) flushing.delete(liveRoomId);
    });
    return run;
  }

  /** A room reached the threshold: flush it in the background unless a flush of it is under way. */
  function scheduleFlush(liveRoomId: number): void {
    if (flushing.has(liveRoomId) || !deps.store) return;
    flushInTurn(deps.store, liveRoomId).catch((error: unknown) =>
      logger.warn({ err: error, liveRoomId }, 'realtime flush failed; the delta stays in Redis for the next one'),
    );
  }

  /** Flushes one room now (waits for a flush already running for it). */
  async function flushRoomNow(liveRoomId: number): Promise<void> {
    const store = deps.usableStore();
    if (!store) return;
    await flushInTurn(store, liveRoomId);
  }

  /** The flush job: every room with a pending or half-done delta. */
  async function flushAll(): Promise<{ rooms: number }> {
    const store = deps.usableStore();
    if (!store) return { rooms: 0 };
    const rooms = await store.roomsToFlush();
    await eachConcurrently(rooms, ROOMS_AT_ONCE, (id) => flushInTurn(store, id));
    return { rooms: rooms.length };
  }

  /** Waits for background flushes (shutdown, tests). */
  async function drain(): Promise<void> {
    await Promise.all([...flushing.values()]);
  }

  return { scheduleFlush, flushRoomNow, flushAll, drain };
}
