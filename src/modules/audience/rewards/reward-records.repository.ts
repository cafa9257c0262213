import type { Knex } from 'knex';
import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { RewardOwner } from '../contract';
import { notRefunded, refundedColumn } from './refund-filter';

/**
 * The record queries over `recharge`: one owner's rewards in a time range, each walking that
 * owner's (owner_id, created_at) index — idx_recharge_anchor_time, idx_recharge_room_time or
 * idx_recharge_audience_time (InnoDB appends the primary key, so created_at then id orders them
 * without a sort). Builders are exported so the EXPLAIN test checks the SQL that really runs.
 */

type Num = number | string | null;

export interface RewardRecordRow {
  id: number;
  trace_id: string;
  audience_id: number;
  live_room_id: number;
  anchor_id: number;
  amount: number;
  created_at: string;
  /** Non-zero when the reward is refunded (absent where a query does not ask). */
  refunded?: number | string | null;
}

/** The columns a record shows, with whether the reward is refunded (a primary-key probe of `recharge_refund`). */
const recordColumns = (db: Db) =>
  ['id', 'trace_id', 'audience_id', 'live_room_id', 'anchor_id', 'amount', 'created_at', refundedColumn(db)] as const;

export interface RecordRange {
  owner: RewardOwner;
  from: Date | null;
  to: Date | null;
}

function ownerColumn(owner: RewardOwner): { column: string; id: number; index: string } {
  if ('anchorId' in owner) return { column: 'anchor_id', id: owner.anchorId, index: 'idx_recharge_anchor_time' };
  if ('liveRoomId' in owner) return { column: 'live_room_id', id: owner.liveRoomId, index: 'idx_recharge_room_time' };
  return { column: 'audience_id', id: owner.audienceId, index: 'idx_recharge_audience_time' };
}

/**
 * `recharge` read through the owner's index. MariaDB is told so: for an owner holding much of the
 * table it otherwise prefers a full scan and a sort (or the bare created_at index), which for a
 * page means sorting all the owner's rows to return twenty, and for an export a sort of them all
 * before the first byte. SQLite picks the owner's index by itself.
 */
function rechargeVia(db: Db, index: string): Knex.QueryBuilder {
  return dialectOfDb(db) === 'mysql' ? db.from(db.raw('?? FORCE INDEX (??)', ['recharge', index])) : db('recharge');
}

/** `recharge` narrowed to the owner and `[from, to)`: an equality and a range on the owner's index. */
function inRange(db: Db, range: RecordRange): Knex.QueryBuilder {
  const { column, id, index } = ownerColumn(range.owner);
  const query = rechargeVia(db, index).where(column, id);
  if (range.from) void query.andWhere('created_at', '>=', toDbTime(range.from));
  if (range.to) void query.andWhere('created_at', '<', toDbTime(range.to));
  return query;
}

/** How many rewards match, and the largest id among them (the snapshot bound of a first page). */
export function countQuery(db: Db, range: RecordRange, upToId: number | null): Knex.QueryBuilder {
  const query = inRange(db, range).count({ n: '*' }).max({ maxId: 'id' });
  if (upToId !== null) void query.andWhere('id', '<=', upToId);
  return query;
}

export async function countRecords(db: Db, range: RecordRange, upToId: number | null): Promise<{ count: number; maxId: number }> {
  const row = (await countQuery(db, range, upToId).first()) as { n: Num; maxId: Num } | undefined;
  return { count: Number(row?.n ?? 0), maxId: Number(row?.maxId ?? 0) };
}

/** One page, newest first; ties on created_at by id so that the order is total and pages never overlap. */
export function pageQuery(db: Db, range: RecordRange, args: { upToId: number; offset: number; limit: number }): Knex.QueryBuilder {
  return inRange(db, range)
    .select(...recordColumns(db))
    .andWhere('id', '<=', args.upToId)
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .offset(args.offset)
    .limit(args.limit);
}

export async function recordPage(
  db: Db,
  range: RecordRange,
  args: { upToId: number; offset: number; limit: number },
): Promise<RewardRecordRow[]> {
  return (await pageQuery(db, range, args)) as RewardRecordRow[];
}

/** Every reward of the range, oldest first: what the CSV export streams. */
export function exportQuery(db: Db, range: RecordRange): Knex.QueryBuilder {
  return inRange(db, range)
    .select(...recordColumns(db))
    .orderBy([
      { column: 'created_at', order: 'asc' },
      { column: 'id', order: 'asc' },
    ]);
}

/**
 * `CASE` that names the bucket of `created_at` among the sorted boundaries by bisection: about
 * log2(buckets) comparisons per row where a flat `CASE` would make up to one per bucket, and plain
 * SQL that both MariaDB and SQLite run. Boundaries are arbitrary instants, so days of 23 or 25 hours
 * (daylight saving) are bucketed exactly.
 */
export function bucketExpression(boundaries: readonly string[], low: number, high: number): { sql: string; bindings: string[] } {
  // Rows here lie in [boundaries[low], boundaries[high]); one bucket left means it is theirs.
  if (high - low === 1) return { sql: String(low), bindings: [] };
  const middle = Math.floor((low + high) / 2);
  const before = bucketExpression(boundaries, low, middle);
  const after = bucketExpression(boundaries, middle, high);
  return {
    sql: `CASE WHEN created_at < ? THEN ${before.sql} ELSE ${after.sql} END`,
    bindings: [boundaries[middle] as string, ...before.bindings, ...after.bindings],
  };
}

/**
 * Per bucket between consecutive boundaries: sum, count and distinct viewers, in one statement over
 * the owner's index. Viewers are counted by grouping twice (per bucket and viewer, then per bucket)
 * rather than with COUNT(DISTINCT), for which MariaDB sorts every row of the range.
 */
export function bucketTotalsQuery(db: Db, owner: RewardOwner, boundaries: readonly Date[]): Knex.QueryBuilder {
  const times = boundaries.map(toDbTime);
  const bucket = bucketExpression(times, 0, times.length - 1);
  const first = boundaries[0] as Date;
  const last = boundaries[boundaries.length - 1] as Date;
  const perViewer = notRefunded(inRange(db, { owner, from: first, to: last }))
    .select(db.raw(`${bucket.sql} AS bucket`, bucket.bindings), 'audience_id')
    .sum({ s: 'amount' })
    .count({ n: '*' })
    .groupBy('bucket', 'audience_id')
    // No ORDER BY: MariaDB would otherwise sort the groups; the caller places them by number.
    .orderByRaw('NULL');
  return db
    .from(perViewer.as('per_viewer'))
    .select('bucket')
    .sum({ s: 's' })
    .sum({ n: 'n' })
    .count({ supporters: '*' })
    .groupBy('bucket')
    .orderByRaw('NULL');
}

export async function bucketTotals(
  db: Db,
  owner: RewardOwner,
  boundaries: readonly Date[],
): Promise<Array<{ bucket: Num; s: Num; n: Num; supporters: Num }>> {
  return (await bucketTotalsQuery(db, owner, boundaries)) as Array<{ bucket: Num; s: Num; n: Num; supporters: Num }>;
}
