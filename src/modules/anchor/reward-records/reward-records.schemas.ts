import { z } from 'zod';
import { idParam, moneyOut } from '../../../shared/http/schemas';

export { rewardRangeQuery, rewardRecordPageSchema, rewardRecordsQuery } from '../../../shared/http/reward-record-schemas';

/** Longest daily summary one request may ask for. */
export const MAX_SUMMARY_DAYS = 366;
/** The summary's length when `from` is left out. */
export const DEFAULT_SUMMARY_DAYS = 30;

export const anchorIdParams = z.object({ anchorId: idParam });
export const liveRoomIdParams = z.object({ liveRoomId: idParam });

const localDate = z.iso.date({ error: 'must be a date, YYYY-MM-DD' }).meta({ example: '2026-01-02' });

export const dailySummaryQuery = z
  .object({
    from: localDate.optional().meta({ description: `First day, inclusive (default: ${DEFAULT_SUMMARY_DAYS} days before \`to\`).` }),
    to: localDate.optional().meta({ description: 'Day after the last, exclusive (default: tomorrow, so that today is the last day).' }),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { path: ['to'], message: 'must be after from' });

export const dailySummarySchema = z
  .object({
    items: z.array(
      z.object({
        day: z.string().meta({ example: '2026-01-02' }),
        totalAmount: moneyOut,
        rewardCount: z.number().int(),
        supporterCount: z.number().int().meta({ description: 'Distinct viewers who rewarded that day.' }),
      }),
    ),
    from: z.string().meta({ example: '2026-01-01' }),
    to: z.string().meta({ example: '2026-01-31' }),
    timeZone: z.string().meta({ example: 'Asia/Shanghai' }),
  })
  .meta({ id: 'AnchorDailyRewards' });

export const CSV_HEADER = 'rechargeId,traceId,createdAt,liveRoomId,audienceId,amount,status';
