import type { Readable } from 'node:stream';
import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import {
  REWARD_BUCKET_MAX_BOUNDARIES,
  REWARD_EXPORT_PAGE_SIZE,
  type AudienceServiceClient,
  type RewardRecordDto,
  type RewardRecordPageDto,
  type RewardRecordPageQuery,
  type RewardRecordRange,
  type RewardRecordStatus,
} from '../contract';
import { findAudience } from '../viewers/viewers.repository';
import { bucketTotals, countRecords, exportQuery, recordPage, type RecordRange, type RewardRecordRow } from './reward-records.repository';

export type RecordQueries = Pick<AudienceServiceClient, 'rewardRecords' | 'rewardTotalsByBucket' | 'exportRewardRecords'>;

/** REFUNDED while the reward has a refund row, else SUCCESS. */
export function recordStatusOf(row: Pick<RewardRecordRow, 'refunded'>): RewardRecordStatus {
  return Number(row.refunded ?? 0) > 0 ? 'REFUNDED' : 'SUCCESS';
}

export function toRewardRecord(row: RewardRecordRow): RewardRecordDto {
  return {
    rechargeId: row.id,
    traceId: row.trace_id,
    audienceId: row.audience_id,
    liveRoomId: row.live_room_id,
    anchorId: row.anchor_id,
    amountFen: row.amount,
    status: recordStatusOf(row),
    createdAt: isoFromDb(row.created_at),
  };
}

function toRecordRange(range: RewardRecordRange): RecordRange {
  return {
    owner: range.owner,
    from: range.from === undefined ? null : new Date(range.from),
    to: range.to === undefined ? null : new Date(range.to),
  };
}

export function checkedBoundaries(boundaries: readonly string[]): Date[] {
  const times = boundaries.map((b) => new Date(b));
  const ascending = times.every((t, i) => !Number.isNaN(t.getTime()) && (i === 0 || t > (times[i - 1] as Date)));
  if (times.length < 2 || times.length > REWARD_BUCKET_MAX_BOUNDARIES || !ascending)
    throw AppError.validation([
      { field: 'boundaries', message: `must be 2 to ${REWARD_BUCKET_MAX_BOUNDARIES} strictly ascending ISO instants` },
    ]);
  return times;
}

/** Up to `size` rows; `done` once the rows ran out. */
async function nextPage(rows: AsyncIterator<RewardRecordRow>, size: number): Promise<{ page: RewardRecordDto[]; done: boolean }> {
  const page: RewardRecordDto[] = [];
  while (page.length < size) {
    const next = await rows.next();
    if (next.done) return { page, done: true };
    page.push(toRewardRecord(next.value));
  }
  return { page, done: false };
}

/**
 * Gathers the row stream into pages, pulled one at a time: the statement reads on only as pages
 * are taken (`onRows` counts each page's rows as they are taken from the statement). A page that does not fill within `pageTimeoutMs` fails the export: the consumer is not
 * involved while a page fills, so that is the database gone quiet — a connection dropped mid-result
 * is not always reported by the driver, and the download would otherwise wait forever.
 */
async function* pagesOf(
  rows: Readable,
  size: number,
  pageTimeoutMs: number,
  onRows: (count: number) => void,
): AsyncGenerator<RewardRecordDto[]> {
  const iterator = rows[Symbol.asyncIterator]() as AsyncIterator<RewardRecordRow>;
  try {
    for (;;) {
      const stalled = setTimeout(() => rows.destroy(new Error(`the database sent no rows for ${pageTimeoutMs} ms`)), pageTimeoutMs);
      const { page, done } = await nextPage(iterator, size).finally(() => clearTimeout(stalled));
      onRows(page.length);
      if (page.length > 0) yield page;
      if (done) return;
    }
  } finally {
    // A consumer that stops early ends the statement (and frees its connection).
    await iterator.return?.();
  }
}

/**
 * An export whose statement has already answered: the first page is read before the caller gets
 * the iterable, so a failure to start (DB1 down, no connection) rejects the call itself and the
 * caller can still answer with a problem instead of a broken download.
 */
async function startedExport(pages: AsyncGenerator<RewardRecordDto[]>): Promise<AsyncIterable<RewardRecordDto[]>> {
  const first = await pages.next();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        yield* pages;
      } finally {
        await pages.return(undefined);
      }
    },
  };
}

/**
 * The reward-record queries of the contract. Pages and bucket totals run on the request pool (each
 * statement bounded by DB_QUERY_TIMEOUT_MS); an export streams on `exportDb`, a pool of its own, so a
 * download read slowly holds none of the connections requests need. `onExportRows` is told how many
 * rows the exports have read from their statements (a metric, and how the tests see backpressure).
 */
export function createRewardRecords(deps: {
  db: Db;
  exportDb: Db;
  exportPageTimeoutMs: number;
  onExportRows: (count: number) => void;
}): RecordQueries {
  const { db, exportDb, exportPageTimeoutMs, onExportRows } = deps;
  return {
    async rewardRecords(query) {
      const range = toRecordRange(query);
      const snapshot = query.snapshot ?? null;
      const { count, maxId } = await countRecords(db, range, snapshot);
      const upToId = snapshot ?? maxId;
      const offset = (query.page - 1) * query.pageSize;
      const rows = count > offset ? await recordPage(db, range, { upToId, offset, limit: query.pageSize }) : [];
      return { items: rows.map(toRewardRecord), total: count, snapshot: upToId };
    },

    async rewardTotalsByBucket(owner, boundaries) {
      const rows = await bucketTotals(db, owner, checkedBoundaries(boundaries));
      return rows.map((r) => ({
        bucket: Number(r.bucket),
        amountFen: Number(r.s ?? 0),
        rewardCount: Number(r.n),
        supporterCount: Number(r.supporters),
      }));
    },

    async exportRewardRecords(range) {
      const rows = exportQuery(exportDb, toRecordRange(range)).stream();
      return startedExport(pagesOf(rows, REWARD_EXPORT_PAGE_SIZE, exportPageTimeoutMs, onExportRows));
    },
  };
}

export type ViewerRewardsQuery = Omit<RewardRecordPageQuery, 'owner'>;

/** A viewer's own rewards (the viewer, service or admin); an unknown viewer is 404. */
export function createViewerRewards(deps: { db: Db; records: RecordQueries }) {
  return async (principal: Principal | null, audienceId: number, query: ViewerRewardsQuery): Promise<RewardRecordPageDto> => {
    assertMayActFor(principal, { audienceId });
    if (!(await findAudience(deps.db, audienceId))) throw AppError.notFound('AUDIENCE_NOT_FOUND', `There is no viewer ${audienceId}.`);
    return deps.records.rewardRecords({ ...query, owner: { audienceId } });
  };
}

export type ViewerRewards = ReturnType<typeof createViewerRewards>;
