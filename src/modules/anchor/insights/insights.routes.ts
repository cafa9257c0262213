import { route, type AnyRoute } from '../../../shared/http/routes';
import {
  anchorIdParams,
  anchorRankingSchema,
  anchorStatsSchema,
  liveRoomIdParams,
  periodQuery,
  rangeQuery,
  summaryQuery,
  supporterSummarySchema,
  topContributorsSchema,
  topSupportersSchema,
} from './insights.schemas';
import { windowFromQuery, type InsightsService } from './insights.service';

/** Said once for every insight: how far behind a reward an answer may be. */
function lagNote(cacheTtlMs: number): string {
  return `Aggregated from the reward rows (every reward; refunded ones once refunds exist); an answer is kept for ${cacheTtlMs} ms (TOP10_CACHE_TTL_MS, as the TOP10s), so it may miss rewards of that long ago.`;
}

/**
 * The anchor's figures over its rewards. Registered before the anchors' own routes:
 * `/anchors/ranking` must not be read as `/anchors/{anchorId}` (which would answer 400).
 */
export function insightRoutes(insights: InsightsService, options: { cacheTtlMs: number }): AnyRoute[] {
  const lag = lagNote(options.cacheTtlMs);
  return [
    route({
      method: 'get',
      path: '/anchors/ranking',
      summary: 'Anchors ranked by earnings in a period (public)',
      description: `Public like the TOP10s (a room's earnings are public through its realtime figures). Largest first, ties by the earlier first reward of the period; deleted anchors are left out, disabled ones stay (their earnings happened). ${lag}`,
      access: 'public',
      query: periodQuery,
      responses: { 200: { description: 'Up to `limit` anchors', schema: anchorRankingSchema } },
      handle: async ({ query }) => ({ status: 200, body: await insights.anchorRanking(query) }),
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/stats',
      summary: "An anchor's earnings, reward count and distinct supporters (the anchor or admin)",
      description: lag,
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      responses: { 200: { description: 'All-time figures', schema: anchorStatsSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await insights.anchorStats(principal, params.anchorId) }),
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/top-supporters',
      summary: "An anchor's top supporters in a period (the anchor or admin)",
      description: `Over all the anchor's rooms. Largest first, ties by the earlier first reward; an anonymous viewer appears with audienceId and nickname null. ${lag}`,
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      query: periodQuery,
      responses: { 200: { description: 'Up to `limit` viewers', schema: topSupportersSchema } },
      handle: async ({ params, query, principal }) => ({
        status: 200,
        body: await insights.topSupporters(principal, params.anchorId, query),
      }),
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/supporters/summary',
      summary: "New versus returning supporters in a time range, and the top 10's share (the anchor or admin)",
      description: `Over the rewards created in [from, to) (all time without them): distinct supporters, how many of them are new (no reward to this anchor before \`from\`) or returning, what each group gave, and what the ten largest supporters of the range gave with their share of the earnings (rounded down to four decimals) — how much the anchor depends on a few viewers, and whether it wins new ones. ${lag}`,
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      query: summaryQuery,
      responses: { 200: { description: 'The summary', schema: supporterSummarySchema } },
      handle: async ({ params, query, principal }) => ({
        status: 200,
        body: await insights.supporterSummary(principal, params.anchorId, windowFromQuery(query)),
      }),
    }),
    route({
      method: 'get',
      path: '/live-rooms/{liveRoomId}/top-contributors',
      summary: "A room's top contributors in a time range (owner or admin)",
      description: `Over the rewards created in [from, to) (all time without them). Largest first, ties by the earlier first reward; an anonymous viewer appears with audienceId and nickname null. ${lag}`,
      access: ['admin', 'anchor'],
      params: liveRoomIdParams,
      query: rangeQuery,
      responses: { 200: { description: 'Up to `limit` viewers', schema: topContributorsSchema } },
      handle: async ({ params, query, principal }) => ({
        status: 200,
        body: await insights.roomTopContributors(principal, params.liveRoomId, { window: windowFromQuery(query), limit: query.limit }),
      }),
    }),
  ];
}
