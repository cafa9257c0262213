import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { idParam, moneyOut } from '../../../shared/http/schemas';
import { TRACE_ID_PATTERN } from '../../../shared/trace';
import type { RankingsService } from './rankings.service';
import { batchBody, batchResultSchema, rechargeIdParams, rewardBody, rewardSchema } from './rewards.schemas';
import type { RewardsService } from './rewards.service';

const REWARD_ROLES = ['audience', 'service', 'admin'] as const;

const top10Query = z.object({
  liveRoomId: idParam,
  period: z.enum(['day', 'week', 'month', 'all']).default('all'),
});

const top10Schema = z
  .object({
    liveRoomId: z.number().int(),
    period: z.enum(['day', 'week', 'month', 'all']),
    items: z.array(
      z.object({
        rank: z.number().int(),
        audienceId: z.number().int(),
        nickname: z.string(),
        totalAmount: moneyOut,
        rewardCount: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'Top10' });

export function rewardRoutes(rewards: RewardsService, rankings: RankingsService, options: { maxRewardFen: number }): AnyRoute[] {
  const { maxRewardFen } = options;
  return [
    route({
      method: 'post',
      path: '/recharge',
      summary: 'Send a reward (idempotent on traceId)',
      description:
        'A viewer rewards only as itself; service may act for any viewer. A replay of the same traceId with the same content answers 200 with the first answer and `Idempotent-Replayed: true`; other content is 409 IDEMPOTENCY_CONFLICT. Without an `X-Trace-Id` header the body’s `traceId` is the request’s trace id (response header, problem body, logs).',
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
      path: '/recharge/top10',
      summary: "A room's top 10 viewers for a period (public)",
      description: 'Days and months in the configured time zone; weeks start on Monday. Ties go to the earlier first reward.',
      access: 'public',
      query: top10Query,
      responses: { 200: { description: 'Up to 10 viewers, largest first', schema: top10Schema } },
      handle: async ({ query }) => ({ status: 200, body: await rankings.top10(query.liveRoomId, query.period) }),
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
