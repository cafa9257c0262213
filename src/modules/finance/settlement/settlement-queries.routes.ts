import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import {
  FROM_BEFORE_TO,
  fromBeforeTo,
  idParam,
  isoTime,
  moneyOut,
  pageOf,
  pagingQuery,
  timeRangeQuery,
} from '../../../shared/http/schemas';
import { formatBasisPoints, formatFen } from '../../../shared/money';
import { daySpan, type SettlementQueries, type SettlementView } from './settlement-queries';

const detailSchema = z
  .object({
    rechargeId: z.number().int(),
    traceId: z.string(),
    liveRoomId: z.number().int(),
    audienceId: z.number().int(),
    amount: moneyOut,
    rate: z.string().meta({ example: '0.5000' }),
    anchorAmount: moneyOut,
    platformAmount: moneyOut,
    rewardCreatedAt: isoTime,
  })
  .meta({ id: 'SettlementDetail' });

const settlementSchema = z
  .object({
    settlementId: z.number().int(),
    batchId: z.string(),
    anchorId: z.number().int(),
    recordCount: z.number().int(),
    totalAmount: moneyOut,
    anchorAmount: moneyOut,
    platformAmount: moneyOut,
    createdAt: isoTime,
    details: z.array(detailSchema).optional().meta({ description: 'With `details=true` only.' }),
  })
  .meta({ id: 'Settlement' });

const totalsSchema = z.object({ count: z.number().int(), amount: moneyOut, anchorAmount: moneyOut, platformAmount: moneyOut });

const summarySchema = z
  .object({
    date: z.string().meta({ example: '2026-01-02' }),
    timeZone: z.string(),
    from: isoTime,
    to: isoTime,
    total: totalsSchema,
    anchors: z.array(totalsSchema.extend({ anchorId: z.number().int() })),
  })
  .meta({ id: 'SyncDaySummary' });

function settlementOut(s: SettlementView) {
  return {
    settlementId: s.settlementId,
    batchId: s.batchId,
    anchorId: s.anchorId,
    recordCount: s.recordCount,
    totalAmount: formatFen(s.totalFen),
    anchorAmount: formatFen(s.anchorFen),
    platformAmount: formatFen(s.platformFen),
    createdAt: s.createdAt,
    ...(s.details
      ? {
          details: s.details.map((d) => ({
            rechargeId: d.rechargeId,
            traceId: d.traceId,
            liveRoomId: d.liveRoomId,
            audienceId: d.audienceId,
            amount: formatFen(d.amountFen),
            rate: formatBasisPoints(d.rateBp),
            anchorAmount: formatFen(d.anchorFen),
            platformAmount: formatFen(d.platformFen),
            rewardCreatedAt: d.rewardCreatedAt,
          })),
        }
      : {}),
  };
}

export function settlementQueryRoutes(queries: SettlementQueries, timeZone: string): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/settlements',
      summary: 'Settlements, newest first, by anchor and settlement time (admin)',
      description:
        'One settlement per sync batch and anchor: how many rewards, their sum and both shares (which add up to the sum to the fen). `details=true` adds each settled reward with the rate it was split with.',
      access: ['admin'],
      query: z
        .strictObject({
          anchorId: idParam.optional(),
          ...timeRangeQuery,
          details: z.enum(['true', 'false']).default('false'),
          ...pagingQuery,
        })
        .refine(fromBeforeTo, FROM_BEFORE_TO),
      responses: { 200: { description: 'One page', schema: pageOf(settlementSchema) } },
      handle: async ({ query }) => {
        const page = await queries.list({ ...query, details: query.details === 'true' });
        return { status: 200, body: { ...page, items: page.items.map(settlementOut) } };
      },
    }),
    route({
      method: 'get',
      path: '/recharge/sync-summary',
      summary: "A day's settled rewards per anchor, to compare with DB1 (admin)",
      description:
        'The rewards created on `date` (a calendar day in TIME_ZONE) that finance has settled: count, amount and both shares per anchor, and their total. Keyed by the reward’s time, not the settlement’s, so the figures for a day only grow while the sync catches up and can be held against DB1’s reward table (`npm run cli -- sync compare`).',
      access: ['admin'],
      query: z.strictObject({ date: z.iso.date({ error: 'must be a date, YYYY-MM-DD' }).meta({ example: '2026-01-02' }) }),
      responses: { 200: { description: 'The day per anchor', schema: summarySchema } },
      handle: async ({ query }) => {
        const { start, end } = daySpan(query.date, timeZone);
        const anchors = await queries.settledBetween(start, end);
        const sum = (pick: (a: (typeof anchors)[number]) => number) => anchors.reduce((total, a) => total + pick(a), 0);
        const totals = (t: { count: number; amountFen: number; anchorFen: number; platformFen: number }) => ({
          count: t.count,
          amount: formatFen(t.amountFen),
          anchorAmount: formatFen(t.anchorFen),
          platformAmount: formatFen(t.platformFen),
        });
        return {
          status: 200,
          body: {
            date: query.date,
            timeZone,
            from: start.toISOString(),
            to: end.toISOString(),
            total: totals({
              count: sum((a) => a.count),
              amountFen: sum((a) => a.amountFen),
              anchorFen: sum((a) => a.anchorFen),
              platformFen: sum((a) => a.platformFen),
            }),
            anchors: anchors.map((a) => ({ anchorId: a.anchorId, ...totals(a) })),
          },
        };
      },
    }),
  ];
}
