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
