import { chunks } from '../../../shared/chunks';
import type { Db } from '../../../shared/db/knex';
import { retryOnConflict } from '../../../shared/db/retry';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import { currentTraceId } from '../../../shared/trace';
import type { ApplyRewardCommand, RealtimeFiguresDto } from '../contract';
import { createApplyGrouping } from './realtime-apply-batch';
import type { RoomEvent } from '../live-events/room-event';
import { liveRoomNotFound, type RoomBases } from './realtime-base';
import { baseOfRow, combine } from './realtime-figures';
import type { RealtimeMetrics } from './realtime.metrics';
import { addRewards, findRealtime } from './realtime.repository';
import { roomKeys, type RealtimeStore, type RewardToApply } from './realtime.redis';

/** Script calls for one group at most when each finds the base it was given outdated by a flush meanwhile. */
const BASE_ATTEMPTS = 3;
/** Rewards counted per transaction when reconciliation puts back what a room missed. */
const REPAIR_CHUNK = 500;

export interface RealtimeApplyDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: RealtimeMetrics;
  /** The Redis side when Redis is configured, answering or not (null without REDIS_URL). */
  store: RealtimeStore | null;
  /** The Redis side when Redis is usable now, else null. */
  usableStore: () => RealtimeStore | null;
  bases: RoomBases;
  /** A room is flushed once this many rewards are pending in Redis. */
  flushThreshold: number;
  /** Called when a room reached the threshold: flush it in the background. */
  onFlushDue: (liveRoomId: number) => void;
  /** How long a base the apply script caches lives in Redis. */
  baseTtlMs: number;
  /** A reward counted straight into DB1: its event goes to this instance's own log (Redis logs the others). */
  onCountedInDb: (event: Omit<RoomEvent, 'id'>) => void;
}

/**
 * Counting a reward in its room's figures. With Redis: one atomic script call per room and turn of
 * the event loop adds it to the pending delta (idempotent per rechargeId). Without Redis, or when
 * the call fails: straight into DB1, through the same journal, so a reward counted both ways is
 * still counted once.
 */
export function createRealtimeApply(deps: RealtimeApplyDeps) {
  const { db, clock, logger, metrics, bases } = deps;

  /**
   * One script call for a room's group; when Redis holds no base of the room (the script needs it
   * for the events' figures), DB1's row is read and given to the next call, which caches it.
   */
  async function applyToRoom(store: RealtimeStore, liveRoomId: number, rewards: RewardToApply[]) {
    let base: Parameters<RealtimeStore['apply']>[3] = null;
    for (let attempt = 1; attempt <= BASE_ATTEMPTS; attempt += 1) {
      const result = await store.apply(liveRoomId, rewards, clock(), base);
      // The cache's hit rate, counted per reward as a read counts it: did Redis hold the room's base?
      if (attempt === 1) metrics.cache.inc({ result: result === 'need-base' ? 'miss' : 'hit' }, rewards.length);
      if (result !== 'need-base') return result;
      base = { value: baseOfRow(await bases.loadRow(liveRoomId)), ttlMs: deps.baseTtlMs };
    }
    throw new Error(`room ${liveRoomId}: its flushes kept outdating the base read from DB1`);
  }
  const applyTogether = createApplyGrouping(applyToRoom);

  /** `redisFailed`: the Redis apply failed and may still run late, so the room is marked for the heal job's flush. */
  async function applyInDb(command: ApplyRewardCommand, options: { redisFailed?: boolean } = {}): Promise<RealtimeFiguresDto> {
    const now = clock();
    const { result, after } = await retryOnConflict(() =>
      db.transaction(async (trx) => {
        const added = await addRewards(trx, {
          liveRoomId: command.liveRoomId,
          rewards: new Map([[command.rechargeId, command.amountFen]]),
          flushId: null,
          now,
          wantFlush: options.redisFailed === true,
        });
        // The row still locked: the figures right after this reward, for its event.
        const counted = added !== 'no-room' && added !== 'already-flushed' && added.count > 0;
        return { result: added, after: counted ? (await findRealtime(trx, [command.liveRoomId]))[0] : undefined };
      }),
    );
    if (result === 'no-room') throw liveRoomNotFound(command.liveRoomId);
    if (after) {
      deps.onCountedInDb({
        liveRoomId: command.liveRoomId,
        rechargeId: command.rechargeId,
        audienceId: command.audienceId,
        amountFen: command.amountFen,
        totalEarningsFen: after.total_earnings,
        rechargeCount: after.recharge_count,
        createdAtMs: now.getTime(),
      });
    }
    metrics.applied.inc({ path: 'db', outcome: result !== 'already-flushed' && result.count > 0 ? 'applied' : 'duplicate' });
    // The cached base in Redis no longer matches DB1; drop it if Redis answers (its TTL bounds it otherwise).
    deps.store?.forgetBase(command.liveRoomId).catch(() => undefined);
    const row = await bases.loadRow(command.liveRoomId);
    return { liveRoomId: row.live_room_id, totalEarningsFen: row.total_earnings, rechargeCount: row.recharge_count, degraded: true };
  }

  async function applyInRedis(store: RealtimeStore, command: ApplyRewardCommand): Promise<RealtimeFiguresDto> {
    if (!bases.isKnown(command.liveRoomId)) await bases.loadRow(command.liveRoomId);
    const { fresh, view } = await applyTogether(store, command);
    metrics.applied.inc({ path: 'redis', outcome: fresh ? 'applied' : 'duplicate' });
    if (view.pendingCount >= deps.flushThreshold) deps.onFlushDue(command.liveRoomId);
    // The script answers with the base it used (cached, or the one it was given and cached).
    const figures = combine(view.base ?? (await bases.baseFor(store, command.liveRoomId, view)), view);
    return { liveRoomId: command.liveRoomId, totalEarningsFen: figures.earnings, rechargeCount: figures.count, degraded: false };
  }

  /** Idempotent per rechargeId. Redis when usable; DB1 when not, or when the Redis call fails. */
  async function applyReward(command: ApplyRewardCommand): Promise<RealtimeFiguresDto> {
    const log = currentTraceId() === command.traceId ? logger : logger.child({ rewardTraceId: command.traceId });
    const { liveRoomId, rechargeId } = command;
    log.info({ liveRoomId, rechargeId, amountFen: command.amountFen }, 'reward notification received');
    const store = deps.usableStore();
    let figures: RealtimeFiguresDto | null = null;
    let redisFailed = false;
    if (store) {
      try {
        figures = await applyInRedis(store, command);
      } catch (error) {
        if (error instanceof AppError) throw error;
        // It may still run in Redis (a frozen Redis thawing): the journal in DB1 keeps it counted once,
        // and the room's flush mark has the heal job flush the late copy away as soon as Redis answers.
        redisFailed = true;
        log.warn({ err: error, liveRoomId }, 'redis unusable for realtime; writing to DB1');
      }
    }
    figures ??= await applyInDb(command, { redisFailed });
    const source = figures.degraded ? 'db' : 'redis';
    log.info({ liveRoomId, rechargeId, source, key: roomKeys(liveRoomId).earnings }, 'realtime figures updated');
    return figures;
  }

  /**
   * Counts rewards of one room straight into DB1, one transaction per chunk instead of one per
   * reward (how reconciliation puts back a page of what the room missed); each reward counted gets
   * its event, with the figures right after it. Returns how many were counted now.
   */
  async function countManyInDb(liveRoomId: number, rewards: readonly ApplyRewardCommand[]): Promise<number> {
    const audienceOf = new Map(rewards.map((r) => [r.rechargeId, r.audienceId]));
    let counted = 0;
    for (const part of chunks(rewards, REPAIR_CHUNK)) {
      const now = clock();
      const { result, after } = await retryOnConflict(() =>
        db.transaction(async (trx) => {
          const added = await addRewards(trx, {
            liveRoomId,
            rewards: new Map(part.map((r) => [r.rechargeId, r.amountFen])),
            flushId: null,
            now,
          });
          const any = added !== 'no-room' && added !== 'already-flushed' && added.count > 0;
          return { result: added, after: any ? (await findRealtime(trx, [liveRoomId]))[0] : undefined };
        }),
      );
      if (result === 'no-room') throw liveRoomNotFound(liveRoomId);
      if (result === 'already-flushed') continue;
      if (after) {
        // The row's figures after the whole chunk, walked back to each reward's own.
        let totalEarningsFen = after.total_earnings - result.earnings;
        let rechargeCount = after.recharge_count - result.count;
        for (const [rechargeId, amountFen] of result.counted) {
          totalEarningsFen += amountFen;
          rechargeCount += 1;
          const audienceId = audienceOf.get(rechargeId) ?? 0;
          deps.onCountedInDb({
            liveRoomId,
            rechargeId,
            audienceId,
            amountFen,
            totalEarningsFen,
            rechargeCount,
            createdAtMs: now.getTime(),
          });
        }
      }
      metrics.applied.inc({ path: 'db', outcome: 'applied' }, result.count);
      if (part.length > result.count) metrics.applied.inc({ path: 'db', outcome: 'duplicate' }, part.length - result.count);
      counted += result.count;
    }
    if (counted > 0) deps.store?.forgetBase(liveRoomId).catch(() => undefined);
    return counted;
  }

  return { applyReward, applyInDb, countManyInDb };
}
