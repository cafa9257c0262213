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
