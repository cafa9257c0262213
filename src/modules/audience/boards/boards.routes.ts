import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { idParam, isoTime, moneyOut } from '../../../shared/http/schemas';
import type { LeaderboardsService } from './leaderboards.service';

const period = z.enum(['day', 'week', 'month', 'all']).default('all');

const itemSchema = z.object({
  rank: z.number().int(),
  audienceId: z.number().int().nullable().meta({ description: 'null for a viewer who chose to be anonymous (still ranked).' }),
  nickname: z.string().nullable().meta({ description: 'null for an anonymous viewer.' }),
  totalAmount: moneyOut,
  rewardCount: z.number().int(),
});

const boardFields = {
  period: z.enum(['day', 'week', 'month', 'all']),
  from: isoTime.nullable().meta({ description: "The period's start (inclusive); null for `all`." }),
  to: isoTime.nullable().meta({ description: "The period's end (exclusive): the next period's start; null for `all`." }),
  items: z.array(itemSchema),
};

const roomTop10Schema = z.object({ liveRoomId: z.number().int(), ...boardFields }).meta({ id: 'Top10' });
const platformTop10Schema = z.object(boardFields).meta({ id: 'Top10Viewers' });

const PERIODS_DESCRIPTION =
  'Days and months in the configured time zone; weeks start on Monday. Largest total first; ties go to the earlier first reward. An anonymous viewer is ranked with `audienceId` and `nickname` null.';

export function boardRoutes(leaderboards: LeaderboardsService): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/recharge/top10',
      summary: "A room's top 10 viewers for a period (public)",
      description: PERIODS_DESCRIPTION,
      access: 'public',
      query: z.object({ liveRoomId: idParam, period }),
      responses: { 200: { description: 'Up to 10 viewers, largest first', schema: roomTop10Schema } },
      handle: async ({ query }) => ({ status: 200, body: await leaderboards.roomTop10(query.liveRoomId, query.period) }),
    }),
    route({
      method: 'get',
      path: '/recharge/top10/viewers',
      summary: 'The platform-wide top 10 viewers for a period (public)',
      description: `${PERIODS_DESCRIPTION} Counts every reward in every room.`,
      access: 'public',
      query: z.object({ period }),
      responses: { 200: { description: 'Up to 10 viewers, largest first', schema: platformTop10Schema } },
      handle: async ({ query }) => ({ status: 200, body: await leaderboards.platformTop10(query.period) }),
    }),
  ];
}
