import type { Db } from '../../../shared/db/knex';
import { retryOnConflict } from '../../../shared/db/retry';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import { currentTraceId } from '../../../shared/trace';
import type { ApplyRewardCommand, RealtimeFiguresDto } from '../contract';
import { createApplyGrouping } from './realtime-apply-batch';
import { liveRoomNotFound, type RoomBases } from './realtime-base';
import { combine } from './realtime-figures';
import type { RealtimeMetrics } from './realtime.metrics';
import { addRewards } from './realtime.repository';
import { roomKeys, type RealtimeStore } from './realtime.redis';

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
}

/**
 * Counting a reward in its room's figures. With Redis: one atomic script call per room and turn of
 * the event loop adds it to the pending delta (idempotent per rechargeId). Without Redis, or when
 * the call fails: straight into DB1, through the same journal, so a reward counted both ways is
 * still counted once.
 */
export function createRealtimeApply(deps: RealtimeApplyDeps) {
  const { db, clock, logger, metrics, bases } = deps;
  const applyTogether = createApplyGrouping(clock);

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
    deps.store?.forgetBase(command.liveRoomId).catch(() => undefined);
    const row = await bases.loadRow(command.liveRoomId);
    return { liveRoomId: row.live_room_id, totalEarningsFen: row.total_earnings, rechargeCount: row.recharge_count, degraded: true };
  }

  async function applyInRedis(store: RealtimeStore, command: ApplyRewardCommand): Promise<RealtimeFiguresDto> {
    if (!bases.isKnown(command.liveRoomId)) await bases.loadRow(command.liveRoomId);
    const { fresh, view } = await applyTogether(store, command);
    metrics.applied.inc({ path: 'redis', outcome: fresh ? 'applied' : 'duplicate' });
    if (view.pendingCount >= deps.flushThreshold) deps.onFlushDue(command.liveRoomId);
    const figures = combine(await bases.baseFor(store, command.liveRoomId, view), view);
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

  return { applyReward, applyInDb };
}
