import type { Db } from '../../../shared/db/knex';
import { fromDbTime, toDbTime } from '../../../shared/db/time';
import { retryOnConflict } from '../../../shared/db/retry';
import { failpoint } from '../../../shared/failpoints';
import { AppError } from '../../../shared/http/app-error';
import type { Principal } from '../../../shared/http/auth';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import { calendarDay } from '../../../shared/time-zone';
import { currentTraceId } from '../../../shared/trace';
import type { AnchorServiceClient } from '../../anchor/contract';
import type { FinanceServiceClient } from '../../finance/contract';
import { boardsOfReward } from '../boards/board-recorder';
import type { BoardStore } from '../boards/boards.redis';
import type { PeriodCalendar } from '../boards/period-calendar';
import type { RefundRow } from './reward-ledger.repository';
import { findRecharge, type RechargeRow } from './rewards.repository';
import {
  findRefund,
  insertRefund,
  lockRecharge,
  leaveSyncQueue,
  markEffects,
  takeOutOfConsumption,
  takeOutOfDailyTotal,
  unfinishedRefunds,
} from './refunds.repository';
import { toRewardDto, type RewardDto } from './rewards.service';

/** Refunds the job finishes per run at most. */
const JOB_BATCH = 100;

export interface RefundsDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  anchor: Pick<AnchorServiceClient, 'takeOutRefundedReward'>;
  finance: Pick<FinanceServiceClient, 'refundReward'>;
  /** The TOP10 boards in Redis; null without Redis (the boards are then read from DB1, which leaves refunds out). */
  boards: { store: BoardStore; calendar: PeriodCalendar; usable: () => boolean } | null;
  timeZone: string;
  /**
   * How long after a refund the job confirms its effects (TOP10_SETTLE_DELAY_MS): it drops the boards
   * once more then, after any reward delivery to them that was already under way.
   */
  confirmAfterMs: number;
  onEffects: (outcome: 'done' | 'failed') => void;
}

/**
 * Refunds (admin): the reward keeps its row and reads REFUNDED. In one DB1 transaction, under the
 * reward's row lock, its refund row is written and it leaves its viewer's consumption and daily
 * counter. Everything else is outside that transaction and idempotent, so it is retried until done:
 * the anchor module takes it out of the room's figures (once per reward, its own journal decides) and
 * has the session totals counted again; the TOP10 boards that hold it are dropped and rebuilt from
 * DB1, which leaves refunds out; finance reverses its settlement, or never settles it. The refund
 * call does all of that at once; the `refund-effects` job does it again `confirmAfterMs` later and
 * then marks the refund done, and keeps retrying one whose effects failed (finance down, Redis down).
 */
export function createRefunds(deps: RefundsDeps) {
  const { db, clock, logger } = deps;

  async function dropBoards(reward: RechargeRow): Promise<void> {
    if (!deps.boards) return;
    if (!deps.boards.usable()) throw new Error('redis is not usable: the TOP10 boards cannot be dropped now');
    const { room, platform } = boardsOfReward(deps.boards.calendar, reward.live_room_id, fromDbTime(reward.created_at));
    await Promise.all([deps.boards.store.dropForRefund(room), deps.boards.store.dropForRefund(platform)]);
  }

  /**
   * The effects outside DB1's transaction that `refund` still needs, tried together; what succeeded is
   * recorded, so a retry redoes only what failed. On the confirming pass (`confirmFrom`: the refund's
   * time plus the settle delay) the room's take-out and the boards' drop are each done once more after
   * that moment — the second delivery that catches a board rebuilt, or a session's totals stored,
   * from a read made before the refund — and the refund is done once all three are confirmed.
   */
  async function applyEffects(reward: RechargeRow, refund: RefundRow, confirmFrom: Date | null): Promise<boolean> {
    const doneSince = (at: string | null) => at !== null && (confirmFrom === null || fromDbTime(at) >= confirmFrom);
    const wanted = {
      room: !doneSince(refund.room_done_at),
      boards: !doneSince(refund.boards_done_at),
      finance: refund.finance_done_at === null,
    };
    const attempts: Array<[keyof typeof wanted, Promise<unknown>]> = [];
    if (wanted.room)
      attempts.push([
        'room',
        deps.anchor.takeOutRefundedReward({
          rechargeId: reward.id,
          liveRoomId: reward.live_room_id,
          liveSessionId: reward.live_session_id,
          amountFen: reward.amount,
        }),
      ]);
    if (wanted.boards) attempts.push(['boards', dropBoards(reward)]);
    if (wanted.finance)
      attempts.push([
        'finance',
        deps.finance.refundReward({ rechargeId: reward.id, anchorId: reward.anchor_id, amountFen: reward.amount, reason: refund.reason }),
      ]);
    const results = await Promise.allSettled(attempts.map(([, attempt]) => attempt));
    const succeeded = { room: false, boards: false, finance: false };
    results.forEach((result, i) => {
      const effect = attempts[i]![0];
      if (result.status === 'fulfilled') succeeded[effect] = true;
      else
        logger.warn(
          { rechargeId: reward.id, effect, err: result.reason as unknown, degraded: true },
          'a refund effect failed; the refund-effects job retries it',
        );
    });
    const all = confirmFrom !== null && (Object.keys(wanted) as Array<keyof typeof wanted>).every((e) => !wanted[e] || succeeded[e]);
    await markEffects(db, reward.id, { ...succeeded, all }, clock());
    return all;
  }

  return {
    async refund(principal: Principal | null, rechargeId: number, reason: string): Promise<RewardDto> {
      const refundedBy = principal ? `${principal.role}:${principal.id}` : 'unknown';
      const outcome = await retryOnConflict(() =>
        db.transaction(async (trx) => {
          const reward = await lockRecharge(trx, rechargeId);
          if (!reward) throw AppError.notFound('RECHARGE_NOT_FOUND', `There is no reward ${rechargeId}.`);
          const existing = await findRefund(trx, rechargeId);
          if (existing) return { reward, refund: existing, now: false };
          const now = clock();
          const refund: RefundRow = {
            recharge_id: reward.id,
            reason,
            refunded_by: refundedBy.slice(0, 64),
            refunded_at: toDbTime(now),
            room_done_at: null,
            boards_done_at: null,
            finance_done_at: null,
            done_at: null,
          };
          await insertRefund(trx, { ...refund, refund_trace_id: currentTraceId() ?? null });
          await leaveSyncQueue(trx, reward.id);
          await takeOutOfConsumption(trx, reward, now);
          const day = calendarDay(fromDbTime(reward.created_at), deps.timeZone).date;
          await takeOutOfDailyTotal(trx, { audienceId: reward.audience_id, day, amountFen: reward.amount });
          return { reward, refund, now: true };
        }),
      );
      if (outcome.now) {
        logger.info({ rechargeId, amountFen: outcome.reward.amount, reason, refundedBy }, 'reward refunded');
        await failpoint('refund.afterCommit');
      }
      // A second call drives the effects again too: an operator's retry finishes what a failure left.
      if (outcome.refund.done_at === null) await applyEffects(outcome.reward, outcome.refund, null).catch(() => undefined);
      return toRewardDto({ ...outcome.reward, refunded: 1 });
    },

    /**
     * The job: confirms the refunds made at least `confirmAfterMs` ago (or `options.confirmAfterMs`,
     * for an operator who knows no delivery to the boards is under way) whose effects are not all done.
     */
    async finishRefunds(options: { confirmAfterMs?: number } = {}): Promise<{ done: number; failed: number }> {
      const after = options.confirmAfterMs ?? deps.confirmAfterMs;
      const pending = await unfinishedRefunds(db, new Date(clock().getTime() - after + 1), JOB_BATCH);
      let done = 0;
      let failed = 0;
      for (const refund of pending) {
        const reward = await findRecharge(db, refund.recharge_id);
        if (!reward) continue;
        const confirmFrom = new Date(fromDbTime(refund.refunded_at).getTime() + after);
        const finished = await applyEffects(reward, refund, confirmFrom).catch(() => false);
        if (finished) done += 1;
        else failed += 1;
        deps.onEffects(finished ? 'done' : 'failed');
      }
      if (done + failed > 0) logger.info({ done, failed }, 'refund effects confirmed');
      return { done, failed };
    },
  };
}

export type Refunds = ReturnType<typeof createRefunds>;
