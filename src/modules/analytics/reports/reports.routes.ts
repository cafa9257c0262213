import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { FROM_BEFORE_TO, fromBeforeTo, idParam, isoTime, moneyOut, timeRangeQuery } from '../../../shared/http/schemas';
import { formatFen } from '../../../shared/money';
import type { OverviewReports } from './overview.service';
import type { RankingReports } from './rankings.service';

const totalsOut = (t: { count: number; amountFen: number }) => ({ totalAmount: formatFen(t.amountFen), rewardCount: t.count });
const totalsShape = { totalAmount: moneyOut, rewardCount: z.number().int() };
const rangeShape = { from: isoTime, to: isoTime };
const rankingQuery = z
  .strictObject({ ...timeRangeQuery, limit: z.coerce.number().int().min(1).max(100).default(10) })
  .refine(fromBeforeTo, FROM_BEFORE_TO);
const RANGE_DEFAULTS =
  'Over the rewards created in `[from, to)`, refunded ones left out; without `to`, now; without `from`, the start of `to`’s day in TIME_ZONE.';

const anchorRankingSchema = z
  .object({
    ...rangeShape,
    items: z.array(
      z.object({
        rank: z.number().int(),
        anchorId: z.number().int(),
        name: z.string().nullable(),
        status: z.string().nullable(),
        ...totalsShape,
      }),
    ),
  })
  .meta({ id: 'AnalyticsAnchorRanking' });

const viewerRankingSchema = z
  .object({
    ...rangeShape,
    items: z.array(
      z.object({
        rank: z.number().int(),
        audienceId: z.number().int(),
        nickname: z.string().nullable(),
        anonymous: z.boolean().meta({ description: 'Anonymous viewers are shown to admins, flagged; public boards hide them.' }),
        ...totalsShape,
      }),
    ),
  })
  .meta({ id: 'AnalyticsViewerRanking' });

const roomReportSchema = z
  .object({
    liveRoomId: z.number().int(),
    anchorId: z.number().int(),
    ...rangeShape,
    ...totalsShape,
    payingViewers: z.number().int(),
    peakMinute: z
      .object({ start: isoTime, ...totalsShape })
      .nullable()
      .meta({ description: 'The minute with the largest amount in the range (the earliest on a tie); null without rewards.' }),
    sessions: z
      .array(
        z.object({
          sessionId: z.number().int(),
          startedAt: isoTime,
          endedAt: isoTime.nullable(),
          totalEarnings: moneyOut,
          rechargeCount: z.number().int(),
        }),
      )
      .meta({ description: 'The sessions overlapping the range, newest first (at most 100), each with its whole totals.' }),
  })
  .meta({ id: 'AnalyticsRoomReport' });

const distributionSchema = z
  .object({
    ...rangeShape,
    buckets: z.array(z.object({ min: moneyOut, max: moneyOut.nullable(), ...totalsShape })),
  })
  .meta({ id: 'AnalyticsAmountDistribution' });

const overviewSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    totalAmount: moneyOut,
    rewardCount: z.number().int(),
    payingViewers: z.number().int(),
    arppu: moneyOut.meta({ description: 'totalAmount / payingViewers, rounded down to the fen; "0.00" without viewers.' }),
    platformRevenue: moneyOut.meta({ description: "The platform's share of the range's rewards that finance has settled." }),
  })
  .meta({ id: 'AnalyticsOverview' });

const trendSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    bucket: z.enum(['hour', 'day']),
    timeZone: z.string(),
    items: z.array(z.object({ start: isoTime, totalAmount: moneyOut, rewardCount: z.number().int() })),
  })
  .meta({ id: 'AnalyticsTrend' });

/** The analytics reports (`/analysis/api/v1`, admin). */
export function reportRoutes(reports: OverviewReports, rankings: RankingReports): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/overview',
      summary: 'The platform over a time range: amount, rewards, paying viewers, ARPPU, platform revenue (admin)',
      description:
        'Over the rewards created in `[from, to)` (refunded ones left out). Without `to`, now; without `from`, the start of `to`’s day in TIME_ZONE. `platformRevenue` is the platform’s share of those rewards that finance has settled, so it trails the amount until the sync has run. Answers are cached in Redis for ANALYTICS_CACHE_TTL_MS.',
      access: ['admin'],
      query: z.strictObject({ ...timeRangeQuery }).refine(fromBeforeTo, FROM_BEFORE_TO),
      responses: { 200: { description: 'The overview', schema: overviewSchema } },
      handle: async ({ query }) => {
        const o = await reports.overview(query);
        return {
          status: 200,
          body: {
            from: o.from,
            to: o.to,
            totalAmount: formatFen(o.totalAmountFen),
            rewardCount: o.rewardCount,
            payingViewers: o.payingViewers,
            arppu: formatFen(o.arppuFen),
            platformRevenue: formatFen(o.platformRevenueFen),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/trend',
      summary: 'Rewards per hour or per day, every bucket present (admin)',
      description:
        'Each hour or calendar day of TIME_ZONE that meets `[from, to)`, oldest first, named by its start (a day the clocks change has 23 or 25 hours); a bucket without rewards is there with zeros. The first and last buckets count only their part within the range, so the items add up to the overview of the same range. Without `to`, now; without `from`, 24 hours or 7 days back. At most 1008 buckets, else 400.',
      access: ['admin'],
      query: z.strictObject({ ...timeRangeQuery, bucket: z.enum(['hour', 'day']).default('day') }).refine(fromBeforeTo, FROM_BEFORE_TO),
      responses: { 200: { description: 'The series', schema: trendSchema } },
      handle: async ({ query }) => {
        const trend = await reports.trend(query);
        return {
          status: 200,
          body: {
            ...trend,
            items: trend.items.map((i) => ({ start: i.start, totalAmount: formatFen(i.totalAmountFen), rewardCount: i.rewardCount })),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/anchors/ranking',
      summary: 'Anchors by what they earned in a time range (admin)',
      description: `${RANGE_DEFAULTS} Largest first, ties to the earlier first reward; \`limit\` 1–100 (default 10). Deleted or disabled anchors are listed with their status.`,
      access: ['admin'],
      query: rankingQuery,
      responses: { 200: { description: 'The ranking', schema: anchorRankingSchema } },
      handle: async ({ query }) => {
        const r = await rankings.anchors(query, query.limit);
        return {
          status: 200,
          body: {
            from: r.from,
            to: r.to,
            items: r.items.map((i) => ({
              rank: i.rank,
              anchorId: i.anchorId,
              name: i.name,
              status: i.status,
              ...totalsOut({ count: i.rewardCount, amountFen: i.amountFen }),
            })),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/viewers/ranking',
      summary: 'Viewers by what they gave in a time range, platform-wide (admin)',
      description: `${RANGE_DEFAULTS} Largest first, ties to the earlier first reward; \`limit\` 1–100 (default 10).`,
      access: ['admin'],
      query: rankingQuery,
      responses: { 200: { description: 'The ranking', schema: viewerRankingSchema } },
      handle: async ({ query }) => {
        const r = await rankings.viewers(query, query.limit);
        return {
          status: 200,
          body: {
            from: r.from,
            to: r.to,
            items: r.items.map((v) => ({
              rank: v.rank,
              audienceId: v.audienceId,
              nickname: v.nickname,
              anonymous: v.anonymous,
              ...totalsOut({ count: v.rewardCount, amountFen: v.amountFen }),
            })),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/live-rooms/{liveRoomId}/report',
      summary: "A live room's report: totals, its busiest minute, its sessions (admin)",
      description: `${RANGE_DEFAULTS} Unknown room → 404 LIVE_ROOM_NOT_FOUND.`,
      access: ['admin'],
      params: z.object({ liveRoomId: idParam }),
      query: z.strictObject({ ...timeRangeQuery }).refine(fromBeforeTo, FROM_BEFORE_TO),
      responses: { 200: { description: 'The report', schema: roomReportSchema } },
      handle: async ({ params, query }) => {
        const r = await rankings.room(params.liveRoomId, query);
        return {
          status: 200,
          body: {
            liveRoomId: r.liveRoomId,
            anchorId: r.anchorId,
            from: r.from,
            to: r.to,
            ...totalsOut(r.totals),
            payingViewers: r.totals.payingViewers,
            peakMinute: r.peakMinute ? { start: r.peakMinute.start, ...totalsOut(r.peakMinute) } : null,
            sessions: r.sessions.map((s) => ({
              sessionId: s.sessionId,
              startedAt: s.startedAt,
              endedAt: s.endedAt,
              totalEarnings: formatFen(s.totalEarningsFen),
              rechargeCount: s.rechargeCount,
            })),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/distribution',
      summary: 'How reward amounts are distributed, in buckets (admin)',
      description: `${RANGE_DEFAULTS} Buckets: under 1.00, 1.00–9.99, 10.00–99.99, 100.00–999.99, 1000.00–9999.99, 10000.00 and above (\`max\` is exclusive, null for the last); every bucket present.`,
      access: ['admin'],
      query: z.strictObject({ ...timeRangeQuery }).refine(fromBeforeTo, FROM_BEFORE_TO),
      responses: { 200: { description: 'The distribution', schema: distributionSchema } },
      handle: async ({ query }) => {
        const d = await rankings.distribution(query);
        return {
          status: 200,
          body: {
            from: d.from,
            to: d.to,
            buckets: d.buckets.map((b) => ({
              min: formatFen(b.minFen),
              max: b.maxFen === null ? null : formatFen(b.maxFen),
              ...totalsOut(b),
            })),
          },
        };
      },
    }),
  ];
}
