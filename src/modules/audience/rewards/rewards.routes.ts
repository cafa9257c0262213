import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { TRACE_ID_PATTERN } from '../../../shared/trace';
import type { Refunds } from './refunds.service';
import { batchBody, batchResultSchema, rechargeIdParams, refundBody, rewardBody, rewardSchema } from './rewards.schemas';
import type { RewardsService } from './rewards.service';

const REWARD_ROLES = ['audience', 'service', 'admin'] as const;

export function rewardRoutes(rewards: RewardsService, refunds: Pick<Refunds, 'refund'>, options: { maxRewardFen: number }): AnyRoute[] {
  const { maxRewardFen } = options;
  return [
    route({
      method: 'post',
      path: '/recharge',
      summary: 'Send a reward (idempotent on traceId)',
      description:
        'A viewer rewards only as itself; service may act for any viewer. A replay of the same traceId with the same content answers 200 with the first answer and `Idempotent-Replayed: true`; other content is 409 IDEMPOTENCY_CONFLICT. With DAILY_REWARD_CAP set, a reward that would take the viewer’s total for the day (in TIME_ZONE) over the cap is 409 DAILY_LIMIT_EXCEEDED and stores nothing (a replay is still 200). Without an `X-Trace-Id` header the body’s `traceId` is the request’s trace id (response header, problem body, logs).',
      access: REWARD_ROLES,
      traceIdFromBody: true,
      body: rewardBody(maxRewardFen),
      responses: {
        201: { description: 'Stored', schema: rewardSchema },
        200: { description: 'Replay of an earlier reward', schema: rewardSchema },
      },
      handle: async ({ body, principal }) => {
        const answer = await rewards.sendReward(principal, body);
        return { status: answer.status, body: answer.body, headers: answer.status === 200 ? { 'Idempotent-Replayed': 'true' } : undefined };
      },
    }),
    route({
      method: 'post',
      path: '/recharge/batch',
      summary: 'Send up to 500 rewards; each judged on its own',
      access: REWARD_ROLES,
      body: batchBody,
      responses: { 200: { description: 'One result per item, in order', schema: batchResultSchema } },
      handle: async ({ body, principal }) => ({ status: 200, body: { results: await rewards.sendBatch(principal, body.items) } }),
    }),
    route({
      method: 'get',
      path: '/recharge/by-trace/{traceId}',
      summary: 'A reward by its traceId (its viewer, service or admin)',
      access: REWARD_ROLES,
      params: z.object({ traceId: z.string().regex(TRACE_ID_PATTERN, 'must be a valid traceId') }),
      responses: { 200: { description: 'The reward', schema: rewardSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await rewards.getRewardByTraceId(principal, params.traceId) }),
    }),
    route({
      method: 'post',
      path: '/recharge/{rechargeId}/refund',
      summary: 'Refund a reward (admin; idempotent)',
      description:
        'The reward keeps its row and reads `status: "REFUNDED"`; a second call answers 200 the same. It leaves its room’s realtime figures, the TOP10s, the anchor’s stats, its session’s totals and its viewer’s consumption and daily total. If finance had settled it, its anchor share is reversed (available and totalIncome drop, available may go below zero, which blocks withdrawals until it recovers); if not, it is never settled. DB1 changes at once; the figures, boards and finance follow within seconds (retried by the `refund-effects` job while one of them is down).',
      access: ['admin'],
      params: rechargeIdParams,
      body: refundBody,
      responses: { 200: { description: 'The refunded reward', schema: rewardSchema } },
      handle: async ({ params, body, principal }) => ({
        status: 200,
        body: await refunds.refund(principal, params.rechargeId, body.reason),
      }),
    }),
    route({
      method: 'get',
      path: '/recharge/{rechargeId}',
      summary: 'A reward by id (its viewer, service or admin)',
      access: REWARD_ROLES,
      params: rechargeIdParams,
      responses: { 200: { description: 'The reward', schema: rewardSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await rewards.getReward(principal, params.rechargeId) }),
    }),
  ];
}
