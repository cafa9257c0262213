import type { Knex } from 'knex';
import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { notRefunded } from './refund-filter';
import { bucketExpression } from './reward-records.repository';

/**
 * Platform-wide aggregates of a time range for the analytics reports: one range read of
 * idx_recharge_time (created_at, audience_id, amount), refunded rewards left out by a primary-key
 * probe each. Builders are exported so the EXPLAIN test checks the SQL that really runs.
 */

type Num = number | string | null;

/** `recharge` in `[from, to)` through idx_recharge_time (MariaDB is told; SQLite picks it itself). */
function inRange(db: Db, from: Date, to: Date): Knex.QueryBuilder {
  const table = dialectOfDb(db) === 'mysql' ? db.from(db.raw('?? FORCE INDEX (??)', ['recharge', 'idx_recharge_time'])) : db('recharge');
  return notRefunded(table).where('created_at', '>=', toDbTime(from)).andWhere('created_at', '<', toDbTime(to));
}

/** Count, sum and distinct viewers of the rewards in the range. */
export function platformTotalsQuery(db: Db, from: Date, to: Date): Knex.QueryBuilder {
  return inRange(db, from, to).count({ n: '*' }).sum({ s: 'amount' }).countDistinct({ viewers: 'audience_id' });
}

export async function platformTotals(db: Db, from: Date, to: Date): Promise<{ count: number; amountFen: number; payingViewers: number }> {
  const row = (await platformTotalsQuery(db, from, to).first()) as { n: Num; s: Num; viewers: Num } | undefined;
  return { count: Number(row?.n ?? 0), amountFen: Number(row?.s ?? 0), payingViewers: Number(row?.viewers ?? 0) };
}

/** Count and sum per bucket between consecutive boundaries (bucket i is [boundaries[i], boundaries[i+1])); empty buckets are absent. */
export function platformBucketsQuery(db: Db, boundaries: readonly Date[]): Knex.QueryBuilder {
  const times = boundaries.map(toDbTime);
  const bucket = bucketExpression(times, 0, times.length - 1);
  return inRange(db, boundaries[0] as Date, boundaries[boundaries.length - 1] as Date)
    .select(db.raw(`${bucket.sql} AS bucket`, bucket.bindings))
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .groupBy('bucket')
    .orderByRaw('NULL');
}

export async function platformBuckets(
  db: Db,
  boundaries: readonly Date[],
): Promise<Array<{ bucket: number; count: number; amountFen: number }>> {
  const rows = (await platformBucketsQuery(db, boundaries)) as Array<{ bucket: Num; n: Num; s: Num }>;
  return rows.map((r) => ({ bucket: Number(r.bucket), count: Number(r.n), amountFen: Number(r.s ?? 0) }));
}

/** The viewers who gave most in the range, platform-wide: largest first, ties to the earlier first reward, then the smaller id. */
export function topViewersQuery(db: Db, from: Date, to: Date, limit: number): Knex.QueryBuilder {
  return inRange(db, from, to)
    .select('audience_id')
    .sum({ total_amount: 'amount' })
    .count({ reward_count: '*' })
    .min({ first_at: 'created_at' })
    .groupBy('audience_id')
    .orderBy([
      { column: 'total_amount', order: 'desc' },
      { column: 'first_at', order: 'asc' },
      { column: 'audience_id', order: 'asc' },
    ])
    .limit(limit);
}

export async function topViewers(
  db: Db,
  from: Date,
  to: Date,
  limit: number,
): Promise<Array<{ audienceId: number; amountFen: number; rewardCount: number }>> {
  const rows = (await topViewersQuery(db, from, to, limit)) as Array<{ audience_id: number; total_amount: Num; reward_count: Num }>;
  return rows.map((r) => ({ audienceId: r.audience_id, amountFen: Number(r.total_amount ?? 0), rewardCount: Number(r.reward_count) }));
}

/** `CASE` naming the amount bucket of a reward among ascending lower edges (fen): bucket i holds [edges[i], edges[i+1]). */
function amountBucketSql(edgesFen: readonly number[]): { sql: string; bindings: number[] } {
  const whens = edgesFen.slice(1).map((_, i) => `WHEN amount < ? THEN ${i}`);
  return { sql: `CASE ${whens.join(' ')} ELSE ${edgesFen.length - 1} END`, bindings: edgesFen.slice(1) };
}

/** Count and sum per amount bucket of the range's rewards; empty buckets are absent. */
export function amountDistributionQuery(db: Db, from: Date, to: Date, edgesFen: readonly number[]): Knex.QueryBuilder {
  const bucket = amountBucketSql(edgesFen);
  return inRange(db, from, to)
    .select(db.raw(`${bucket.sql} AS bucket`, bucket.bindings))
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .groupBy('bucket')
    .orderByRaw('NULL');
}

export async function amountDistribution(
  db: Db,
  from: Date,
  to: Date,
  edgesFen: readonly number[],
): Promise<Array<{ bucket: number; count: number; amountFen: number }>> {
  const rows = (await amountDistributionQuery(db, from, to, edgesFen)) as Array<{ bucket: Num; n: Num; s: Num }>;
  return rows.map((r) => ({ bucket: Number(r.bucket), count: Number(r.n), amountFen: Number(r.s ?? 0) }));
}

/** One room's rewards in the range, through idx_recharge_room_time (live_room_id, created_at). */
function roomInRange(db: Db, liveRoomId: number, from: Date, to: Date): Knex.QueryBuilder {
  const table =
    dialectOfDb(db) === 'mysql' ? db.from(db.raw('?? FORCE INDEX (??)', ['recharge', 'idx_recharge_room_time'])) : db('recharge');
  return notRefunded(table)
    .where('live_room_id', liveRoomId)
    .andWhere('created_at', '>=', toDbTime(from))
    .andWhere('created_at', '<', toDbTime(to));
}

export async function roomTotals(
  db: Db,
  liveRoomId: number,
  from: Date,
  to: Date,
): Promise<{ count: number; amountFen: number; payingViewers: number }> {
  const row = (await roomInRange(db, liveRoomId, from, to)
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .countDistinct({ viewers: 'audience_id' })
    .first()) as { n: Num; s: Num; viewers: Num } | undefined;
  return { count: Number(row?.n ?? 0), amountFen: Number(row?.s ?? 0), payingViewers: Number(row?.viewers ?? 0) };
}

/** The room's minute (UTC minute start, DB text) with the largest amount in the range (the earliest on a tie), or undefined. */
export async function roomPeakMinute(
  db: Db,
  liveRoomId: number,
  from: Date,
  to: Date,
): Promise<{ minute: string; count: number; amountFen: number } | undefined> {
  const minute =
    dialectOfDb(db) === 'mysql'
      ? db.raw("DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:00') AS minute")
      : db.raw("strftime('%Y-%m-%d %H:%M:00', created_at) AS minute");
  const row = (await roomInRange(db, liveRoomId, from, to)
    .select(minute)
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .groupBy('minute')
    .orderBy([
      { column: 's', order: 'desc' },
      { column: 'minute', order: 'asc' },
    ])
    .first()) as { minute: string; n: Num; s: Num } | undefined;
  return row ? { minute: row.minute, count: Number(row.n), amountFen: Number(row.s ?? 0) } : undefined;
}
