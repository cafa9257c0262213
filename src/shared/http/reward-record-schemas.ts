import { z } from 'zod';
import { formatFen } from '../money';
import { FROM_BEFORE_TO, fromBeforeTo, isoTime, moneyOut, pageOf, pagingQuery, timeRangeQuery } from './schemas';

/**
 * The reward-record shapes (API.md, second wave) that the anchor module (an anchor's, a room's
 * rewards) and the audience module (a viewer's) both answer with; kept here so they stay one shape.
 */

export const PAGE_SNAPSHOT_HEADER = 'X-Page-Snapshot';

/** What a paged record list says about `snapshot` and its header (the OpenAPI description). */
export const SNAPSHOT_PAGING_DESCRIPTION = [
  'Newest first (createdAt desc, then rechargeId desc), `from`/`to` half-open `[from, to)`.',
  `Stable paging: every answer carries the header \`${PAGE_SNAPSHOT_HEADER}: <id>\`, the largest rechargeId the list was read up to;`,
  'pass it back as `snapshot` for the next pages and they count and list only rewards with rechargeId <= it,',
  'so rewards arriving meanwhile neither shift the pages (no duplicate, no gap) nor change `total`.',
  'Without `snapshot` the bound is the largest id among the matching rewards stored at the time.',
  'Guarantee: fixed for every reward committed when the first page was read. Reward ids are taken at INSERT and',
  'transactions (group commits, several instances) may commit out of id order, so a reward whose transaction was',
  'still open then (it commits within a few statement timeouts, normally milliseconds) may still appear below the',
  'bound and shift later pages by one.',
].join(' ');

/** A rechargeId bound in a query string: a whole number (0 = before every reward). */
const snapshotParam = z
  .string()
  .refine((value) => /^(0|[1-9]\d{0,15})$/.test(value) && Number.isSafeInteger(Number(value)), 'must be a whole number (a rechargeId)')
  .transform(Number)
  .meta({
    type: 'integer',
    example: 1024,
    description: `Only rewards with rechargeId <= snapshot: the \`${PAGE_SNAPSHOT_HEADER}\` of the first page.`,
  });

export const rewardRecordsQuery = z
  .object({ ...pagingQuery, ...timeRangeQuery, snapshot: snapshotParam.optional() })
  .refine(fromBeforeTo, FROM_BEFORE_TO);

export const rewardRangeQuery = z.object({ ...timeRangeQuery }).refine(fromBeforeTo, FROM_BEFORE_TO);

export const rewardRecordSchema = z
  .object({
    rechargeId: z.number().int(),
    traceId: z.string(),
    audienceId: z.number().int(),
    liveRoomId: z.number().int(),
    amount: moneyOut,
    status: z.enum(['SUCCESS', 'REFUNDED']).meta({ description: 'SUCCESS; REFUNDED once refunded.' }),
    createdAt: isoTime,
  })
  .meta({ id: 'RewardRecord' });

export const rewardRecordPageSchema = pageOf(rewardRecordSchema).meta({ id: 'RewardRecordPage' });

export type RewardRecordBody = z.output<typeof rewardRecordSchema>;

/** A record as the API shows it (the anchor is implied by the list it is in). */
export function rewardRecordBody(record: {
  rechargeId: number;
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  amountFen: number;
  status: RewardRecordBody['status'];
  createdAt: string;
}): RewardRecordBody {
  return {
    rechargeId: record.rechargeId,
    traceId: record.traceId,
    audienceId: record.audienceId,
    liveRoomId: record.liveRoomId,
    amount: formatFen(record.amountFen),
    status: record.status,
    createdAt: record.createdAt,
  };
}

/** A page of records as a route answers it: the body's fixed shape, and the snapshot bound as a header. */
export function rewardRecordPageAnswer(
  page: { items: Parameters<typeof rewardRecordBody>[0][]; total: number; snapshot: number },
  paging: { page: number; pageSize: number },
) {
  return {
    status: 200,
    body: { items: page.items.map(rewardRecordBody), page: paging.page, pageSize: paging.pageSize, total: page.total },
    headers: { [PAGE_SNAPSHOT_HEADER]: String(page.snapshot) },
  };
}
