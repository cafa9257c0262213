import { insertedId, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';

export interface CommissionRateRow {
  id: number;
  anchor_id: number;
  rate_bp: number;
  effective_from: string;
  created_at: string;
}

const COLUMNS = ['id', 'anchor_id', 'rate_bp', 'effective_from', 'created_at'] as const;

export async function insertRate(db: Db, args: { anchorId: number; rateBp: number; effectiveFrom: Date; now: Date }): Promise<number> {
  return insertedId(
    await db('commission_rate').insert({
      anchor_id: args.anchorId,
      rate_bp: args.rateBp,
      effective_from: toDbTime(args.effectiveFrom),
      created_at: toDbTime(args.now),
    }),
  );
}

export async function findRate(db: Db, id: number): Promise<CommissionRateRow | undefined> {
  return db<CommissionRateRow>('commission_rate')
    .select(...COLUMNS)
    .where({ id })
    .first();
}

/**
 * Every rate of these anchors that took effect at or before `until`, newest first (for one anchor:
 * latest effective_from, then the later-created of two with the same start).
 */
export async function ratesUntil(db: Db, anchorIds: readonly number[], until: Date): Promise<CommissionRateRow[]> {
  if (anchorIds.length === 0) return [];
  return db<CommissionRateRow>('commission_rate')
    .select(...COLUMNS)
    .whereIn('anchor_id', [...new Set(anchorIds)])
    .where('effective_from', '<=', toDbTime(until))
    .orderBy([
      { column: 'anchor_id', order: 'asc' },
      { column: 'effective_from', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]);
}

/** One anchor's rates, newest effective_from first (those not yet in force included), one page and the count. */
export async function rateHistory(
  db: Db,
  anchorId: number,
  paging: { page: number; pageSize: number },
): Promise<{ rows: CommissionRateRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db<CommissionRateRow>('commission_rate')
      .select(...COLUMNS)
      .where({ anchor_id: anchorId })
      .orderBy([
        { column: 'effective_from', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(paging.pageSize)
      .offset((paging.page - 1) * paging.pageSize),
    db('commission_rate').where({ anchor_id: anchorId }).count({ n: '*' }).first(),
  ]);
  return { rows, total: Number(count?.['n'] ?? 0) };
}

/**
 * The rate in force at `at` of every anchor that has one of its own (the latest with effective_from
 * <= at, the later-created of two with the same start), newest effective_from first; one page and the count.
 */
export async function ratesInForce(
  db: Db,
  at: Date,
  paging: { page: number; pageSize: number },
): Promise<{ rows: CommissionRateRow[]; total: number }> {
  const when = toDbTime(at);
  const latest = db('commission_rate as later')
    .select('later.id')
    .whereRaw('later.anchor_id = c.anchor_id')
    .where('later.effective_from', '<=', when)
    .orderBy([
      { column: 'later.effective_from', order: 'desc' },
      { column: 'later.id', order: 'desc' },
    ])
    .limit(1);
  const [rows, count] = await Promise.all([
    db<CommissionRateRow>('commission_rate as c')
      .select(...COLUMNS.map((column) => `c.${column}`))
      .where('c.id', '=', latest)
      .orderBy([
        { column: 'c.effective_from', order: 'desc' },
        { column: 'c.anchor_id', order: 'asc' },
      ])
      .limit(paging.pageSize)
      .offset((paging.page - 1) * paging.pageSize) as Promise<CommissionRateRow[]>,
    db('commission_rate').where('effective_from', '<=', when).countDistinct({ n: 'anchor_id' }).first(),
  ]);
  return { rows, total: Number(count?.['n'] ?? 0) };
}

/** Deletes the anchor's rate if it is not in force yet at `now`; false when it is (or is not the anchor's). */
export async function deleteFutureRate(db: Db, anchorId: number, rateId: number, now: Date): Promise<boolean> {
  const deleted = await db('commission_rate')
    .where({ id: rateId, anchor_id: anchorId })
    .where('effective_from', '>', toDbTime(now))
    .delete();
  return deleted === 1;
}
