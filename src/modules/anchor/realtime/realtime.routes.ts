import { z } from 'zod';
import { INTERNAL_ONLY } from '../../../shared/http/auth';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { problemSchema } from '../../../shared/http/schemas';
import { formatFen } from '../../../shared/money';
import type { RealtimeFiguresDto, RealtimeViewDto } from '../contract';
import { applyRewardBody, realtimeFiguresSchema, realtimeManyQuery, realtimeParams, realtimeViewSchema } from './realtime.schemas';
import type { RealtimeService } from './realtime.service';
import type { RewardCheck } from './reward-check';

export function figuresBody(figures: RealtimeFiguresDto) {
  return {
    liveRoomId: figures.liveRoomId,
    totalEarnings: formatFen(figures.totalEarningsFen),
    rechargeCount: figures.rechargeCount,
    degraded: figures.degraded,
  };
}

function viewBody(view: RealtimeViewDto) {
  return {
    liveRoomId: view.liveRoomId,
    anchorId: view.anchorId,
    status: view.status,
    totalEarnings: formatFen(view.totalEarningsFen),
    rechargeCount: view.rechargeCount,
    updatedAt: view.updatedAt,
    source: view.source,
  };
}

export function realtimeRoutes(realtime: RealtimeService, rewards: RewardCheck): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/live-rooms/realtime/reward',
      summary: 'Apply a reward to the room’s realtime figures (internal; idempotent per rechargeId)',
      description:
        'Called by the audience module after a reward is stored. The reward is checked against the reward table first: one that names no stored reward, or differs from it, is 409 REWARD_MISMATCH and counts nothing. Redis when usable, else straight to DB1 (`degraded: true`).',
      access: INTERNAL_ONLY,
      body: applyRewardBody,
      responses: {
        200: { description: 'The room’s figures after the reward', schema: realtimeFiguresSchema },
        409: { description: 'Not a reward as stored (REWARD_MISMATCH)', schema: problemSchema, contentType: 'application/problem+json' },
      },
      handle: async ({ body }) => {
        const command = {
          rechargeId: body.rechargeId,
          traceId: body.traceId,
          liveRoomId: body.liveRoomId,
          audienceId: body.audienceId,
          amountFen: body.amount,
        };
        await rewards.assertStored(command);
        if (await rewards.countedAlready(command)) {
          const view = await realtime.getRealtime(command.liveRoomId);
          return {
            status: 200,
            body: figuresBody({
              liveRoomId: view.liveRoomId,
              totalEarningsFen: view.totalEarningsFen,
              rechargeCount: view.rechargeCount,
              degraded: view.source === 'db',
            }),
          };
        }
        return { status: 200, body: figuresBody(await realtime.applyReward(command)) };
      },
    }),
    route({
      method: 'get',
      path: '/live-rooms/realtime',
      summary: 'Realtime figures of several rooms (`?ids=1,2,3`, up to 100); unknown ids are left out',
      access: 'public',
      query: realtimeManyQuery,
      responses: { 200: { description: 'The rooms found, in the order asked', schema: z.object({ items: z.array(realtimeViewSchema) }) } },
      handle: async ({ query }) => ({ status: 200, body: { items: (await realtime.getMany(query.ids)).map(viewBody) } }),
    }),
    route({
      method: 'get',
      path: '/live-rooms/{liveRoomId}/realtime',
      summary: 'A room’s realtime figures: every reward ever applied to it',
      description: '`source` is `redis` when the pending delta in Redis was read too, `db` when only DB1 answered (Redis unusable).',
      access: 'public',
      params: realtimeParams,
      responses: { 200: { description: 'The figures', schema: realtimeViewSchema } },
      handle: async ({ params }) => ({
        status: 200,
        body: viewBody(await realtime.getRealtime(params.liveRoomId)),
        headers: { 'Cache-Control': 'no-store' },
      }),
    }),
    route({
      method: 'post',
      path: '/live-rooms/{liveRoomId}/realtime/flush',
      summary: 'Fold the room’s pending Redis delta into DB1 now (admin)',
      access: ['admin'],
      params: realtimeParams,
      responses: { 200: { description: 'The figures after the flush', schema: realtimeViewSchema } },
      handle: async ({ params }) => {
        await realtime.getRealtime(params.liveRoomId);
        await realtime.flushRoomNow(params.liveRoomId);
        return { status: 200, body: viewBody(await realtime.getRealtime(params.liveRoomId)) };
      },
    }),
  ];
}
