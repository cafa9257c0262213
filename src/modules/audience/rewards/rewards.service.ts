import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { failpoint } from '../../../shared/failpoints';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import { zodProblems } from '../../../shared/http/problem';
import type { Logger } from '../../../shared/logger';
import { formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import type { RateLimit } from '../../../shared/rate-limit';
import { currentTraceId } from '../../../shared/trace';
import type { ApplyRewardCommand, RealtimeFiguresDto } from '../../anchor/contract';
import type { RewardRecordStatus } from '../contract';
import type { AudienceMetrics } from '../audience-metrics';
import type { RewardWriter } from './reward-writer';
import { recordStatusOf } from './reward-records.service';
import { findRecharge, findRechargeByTraceId, type RechargeRow } from './rewards.repository';
import { rewardBody, type RewardInput } from './rewards.schemas';

export interface RewardDto {
  rechargeId: number;
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  anchorId: number;
  amount: string;
  status: RewardRecordStatus;
  createdAt: string;
}

export interface RewardAnswer {
  status: 201 | 200;
  body: RewardDto;
}

export interface BatchItemResult {
  index: number;
  status: number;
  rechargeId?: number;
  code?: string;
}

/** The reward as stored; `refunded` when the row was read with its state (the reads), else as first answered (SUCCESS). */
export function toRewardDto(row: RechargeRow & { refunded?: number | string | null }): RewardDto {
  return {
    rechargeId: row.id,
    traceId: row.trace_id,
    audienceId: row.audience_id,
    liveRoomId: row.live_room_id,
    anchorId: row.anchor_id,
    amount: formatFen(row.amount),
    status: recordStatusOf(row),
    createdAt: isoFromDb(row.created_at),
  };
}

export interface RewardsServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  writer: RewardWriter;
  metrics: AudienceMetrics;
  maxRewardFen: number;
  /** The anchor module's applyReward behind a circuit breaker. */
  notifyAnchor: (command: ApplyRewardCommand) => Promise<RealtimeFiguresDto>;
  /** A reward was stored (after commit, not for a replay): the boards count it. Must not wait or throw. */
  onRewardStored?: (row: RechargeRow) => void;
}

function rateLimited(retryAfterSeconds: number, perMinute: number): AppError {
  return new AppError('RATE_LIMITED', 429, `Too many rewards from this viewer: at most ${perMinute} a minute.`, {
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

/**
 * The reward writer's admission by the viewer's rate limit (rewards per viewer and minute): one
 * unit per reward, single or in a batch, replays too, asked once per group of rewards (`admit`); a
 * viewer whose window this instance already saw full is refused before it joins a group, with no
 * call (`refuseAtOnce`). Null when the limit is off.
 */
export function rateLimitAdmission(
  rateLimit: RateLimit | null,
  perMinute: number,
): {
  admit: (inputs: readonly RewardInput[]) => Promise<Array<AppError | null>>;
  refuseAtOnce: (input: RewardInput) => AppError | null;
} | null {
  if (!rateLimit) return null;
  return {
    async admit(inputs) {
      const allowances = await rateLimit.take(inputs.map((input) => `viewer:${input.audienceId}`));
      return allowances.map((allowance) => (allowance.allowed ? null : rateLimited(allowance.retryAfterSeconds, perMinute)));
    },
    refuseAtOnce(input) {
      const known = rateLimit.refusedAtOnce(`viewer:${input.audienceId}`);
      return known ? rateLimited(known.retryAfterSeconds, perMinute) : null;
    },
  };
}

export function createRewardsService(deps: RewardsServiceDeps) {
  const { db, clock, logger, writer, metrics } = deps;
  const itemSchema = rewardBody(deps.maxRewardFen);

  /** The realtime figures follow the reward; a failure there never fails the reward. */
  async function notifyAnchor(row: RechargeRow, log: Logger): Promise<void> {
    log.info({ liveRoomId: row.live_room_id, rechargeId: row.id }, 'calling anchor module');
    try {
      await deps.notifyAnchor({
        rechargeId: row.id,
        traceId: row.trace_id,
        liveRoomId: row.live_room_id,
        audienceId: row.audience_id,
        amountFen: row.amount,
      });
    } catch (error) {
      log.warn(
        { err: error, rechargeId: row.id, liveRoomId: row.live_room_id, degraded: true },
        'anchor notification failed; reward kept, realtime repaired by reconciliation',
      );
    }
  }

  /**
   * One reward, already shape-checked and authorised. Its log chain runs under the request's trace
   * id (the reward's own traceId unless the client sent X-Trace-Id, or it came in a batch); a
   * reward whose traceId differs from it names its own in `rewardTraceId`.
   */
  async function submit(input: RewardInput): Promise<RewardAnswer> {
    const log = currentTraceId() === input.traceId ? logger : logger.child({ rewardTraceId: input.traceId });
    log.info({ audienceId: input.audienceId, liveRoomId: input.liveRoomId, amount: formatFen(input.amount) }, 'reward received');
    let outcome;
    try {
      outcome = await writer.submit(input, clock());
    } catch (error) {
      metrics.rewards.inc({ outcome: 'error' });
      throw error;
    }
    if (outcome.kind === 'rejected') {
      metrics.rewards.inc({ outcome: 'rejected' });
      throw outcome.error;
    }
    if (outcome.kind === 'replayed') {
      metrics.rewards.inc({ outcome: 'replayed' });
      return { status: 200, body: toRewardDto(outcome.row) };
    }
    log.info({ rechargeId: outcome.row.id }, 'reward saved');
    await failpoint('reward.afterCommit');
    deps.onRewardStored?.(outcome.row);
    // The anchor module did not answer this reward's room check: waiting out its timeout a second time,
    // for the notification, would double what the reward costs. The notification goes on behind the
    // answer (its breaker bounds it); should it fail, the reward sweep counts the reward.
    if (outcome.roomCheckAnswered) await notifyAnchor(outcome.row, log);
    else void notifyAnchor(outcome.row, log);
    metrics.rewards.inc({ outcome: 'created' });
    return { status: 201, body: toRewardDto(outcome.row) };
  }

  /** Shape and own id of a batch item; the error it answers with when either is wrong. */
  function admitItem(principal: Principal | null, item: unknown, index: number): RewardInput {
    const parsed = itemSchema.safeParse(item);
    if (!parsed.success) throw AppError.validation(zodProblems(parsed.error, `items[${index}]`));
    assertMayActFor(principal, { audienceId: parsed.data.audienceId });
    return parsed.data;
  }

  return {
    async sendReward(principal: Principal | null, input: RewardInput): Promise<RewardAnswer> {
      const stopTimer = metrics.rewardDuration.startTimer({ endpoint: 'single' });
      try {
        assertMayActFor(principal, { audienceId: input.audienceId });
      } catch (error) {
        metrics.rewards.inc({ outcome: 'rejected' });
        stopTimer();
        throw error;
      }
      return submit(input).finally(stopTimer);
    },

    /** Each item is judged on its own exactly as the single endpoint would judge it (one unit of its viewer's rate limit each). */
    async sendBatch(principal: Principal | null, items: readonly unknown[]): Promise<BatchItemResult[]> {
      const stopTimer = metrics.rewardDuration.startTimer({ endpoint: 'batch' });
      const admitted = items.map((item, index) => {
        try {
          return admitItem(principal, item, index);
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          return error;
        }
      });
      return Promise.all(
        admitted.map(async (admission, index): Promise<BatchItemResult> => {
          try {
            if (admission instanceof AppError) throw admission;
            const answer = await submit(admission);
            return { index, status: answer.status, rechargeId: answer.body.rechargeId };
          } catch (error) {
            if (!(error instanceof AppError) || error.status >= 500) throw error;
            // Counted as the single endpoint counts: submit counts its own (the rate limit's too); a malformed item is never a reward.
            if (error.code === 'FORBIDDEN') metrics.rewards.inc({ outcome: 'rejected' });
            return { index, status: error.status, code: error.code };
          }
        }),
      ).finally(stopTimer);
    },

    async getReward(principal: Principal | null, rechargeId: number): Promise<RewardDto> {
      const row = await findRecharge(db, rechargeId);
      if (!row) throw AppError.notFound('RECHARGE_NOT_FOUND', `There is no reward ${rechargeId}.`);
      assertMayActFor(principal, { audienceId: row.audience_id });
      return toRewardDto(row);
    },

    async getRewardByTraceId(principal: Principal | null, traceId: string): Promise<RewardDto> {
      const row = await findRechargeByTraceId(db, traceId);
      if (!row) throw AppError.notFound('RECHARGE_NOT_FOUND', `There is no reward with traceId ${traceId}.`);
      assertMayActFor(principal, { audienceId: row.audience_id });
      return toRewardDto(row);
    },
  };
}

export type RewardsService = ReturnType<typeof createRewardsService>;
