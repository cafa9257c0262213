import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { FROM_BEFORE_TO, fromBeforeTo, isoTime, moneyOut, timeRangeQuery } from '../../../shared/http/schemas';
import { formatFen } from '../../../shared/money';
import type { OverviewReports } from './overview.service';

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
export function reportRoutes(reports: OverviewReports): AnyRoute[] {
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
  ];
}
