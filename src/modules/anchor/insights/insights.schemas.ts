import { z } from 'zod';
import { FROM_BEFORE_TO, fromBeforeTo, idParam, isoTime, moneyOut, timeRangeQuery } from '../../../shared/http/schemas';

/** Most entries a ranking answers (also what is loaded and cached, whatever `limit` asks). */
export const RANKING_MAX_LIMIT = 100;

const period = z.enum(['day', 'week', 'month', 'all']);

const limit = z.coerce
  .number()
  .int()
  .min(1)
  .max(RANKING_MAX_LIMIT)
  .default(10)
  .meta({ description: `Entries to answer, 1–${RANKING_MAX_LIMIT} (default 10).` });

export const anchorIdParams = z.object({ anchorId: idParam });
export const liveRoomIdParams = z.object({ liveRoomId: idParam });

export const periodQuery = z.object({
  period: period.default('all').meta({ description: 'Calendar period in TIME_ZONE containing now; weeks start Monday (default all).' }),
  limit,
});

export const rangeQuery = z.object({ ...timeRangeQuery, limit }).refine(fromBeforeTo, FROM_BEFORE_TO);

export const summaryQuery = z.object({ ...timeRangeQuery }).refine(fromBeforeTo, FROM_BEFORE_TO);

const bound = (what: string) => isoTime.nullable().meta({ description: `${what} (ISO 8601); null when open.` });

export const anchorStatsSchema = z
  .object({
    anchorId: z.number().int(),
    totalEarnings: moneyOut,
    rewardCount: z.number().int(),
    supporterCount: z.number().int().meta({ description: 'Distinct viewers who rewarded the anchor.' }),
  })
  .meta({ id: 'AnchorStats' });

const supporterRank = z
  .object({
    rank: z.number().int(),
    audienceId: z.number().int().nullable().meta({ description: 'null for an anonymous viewer.' }),
    nickname: z.string().nullable().meta({ description: 'null for an anonymous viewer.' }),
    totalAmount: moneyOut,
    rewardCount: z.number().int(),
  })
  .meta({ id: 'SupporterRank' });

export const topSupportersSchema = z
  .object({
    anchorId: z.number().int(),
    period,
    from: bound('Start of the period, inclusive'),
    to: bound('End of the period, exclusive'),
    items: z.array(supporterRank),
  })
  .meta({ id: 'AnchorTopSupporters' });

export const anchorRankingSchema = z
  .object({
    period,
    from: bound('Start of the period, inclusive'),
    to: bound('End of the period, exclusive'),
    items: z.array(
      z.object({
        rank: z.number().int(),
        anchorId: z.number().int(),
        name: z.string(),
        totalEarnings: moneyOut,
        rewardCount: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'AnchorRanking' });

export const topContributorsSchema = z
  .object({
    liveRoomId: z.number().int(),
    from: bound('Inclusive lower bound as asked'),
    to: bound('Exclusive upper bound as asked'),
    items: z.array(supporterRank),
  })
  .meta({ id: 'RoomTopContributors' });

export const supporterSummarySchema = z
  .object({
    anchorId: z.number().int(),
    from: bound('Inclusive lower bound as asked'),
    to: bound('Exclusive upper bound as asked'),
    supporterCount: z.number().int().meta({ description: 'Distinct viewers who rewarded the anchor in the range.' }),
    newSupporters: z.number().int().meta({ description: 'Of them, those who had never rewarded this anchor before `from`.' }),
    returningSupporters: z.number().int().meta({ description: 'Of them, those who had rewarded this anchor before `from`.' }),
    totalEarnings: moneyOut,
    newSupporterEarnings: moneyOut,
    returningSupporterEarnings: moneyOut,
    top10Earnings: moneyOut.meta({ description: 'What the ten largest supporters of the range gave in it.' }),
    top10Share: z
      .string()
      .meta({ example: '0.8125', description: 'top10Earnings / totalEarnings, four decimals, rounded down; "0.0000" without earnings.' }),
  })
  .meta({ id: 'SupporterSummary' });
