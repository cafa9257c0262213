import type { Db } from '../../../shared/db/knex';

export interface QuarantinedRow {
  id: number;
  trace_id: string;
  anchor_id: number;
  live_room_id: number;
  audience_id: number;
  amount: number;
  created_at: string;
  sync_refusals: number;
  sync_last_refusal: string | null;
  sync_quarantined_at: string | null;
}

const COLUMNS = [
  'id',
  'trace_id',
  'anchor_id',
  'live_room_id',
  'audience_id',
  'amount',
  'created_at',
  'sync_refusals',
  'sync_last_refusal',
  'sync_quarantined_at',
] as const;

/** Quarantined rewards in id order, at most `limit` (the (sync_status, id) index). */
export async function quarantinedRewards(db: Db, limit: number): Promise<QuarantinedRow[]> {
  return db<QuarantinedRow>('recharge')
    .select(...COLUMNS)
    .where('sync_status', 'QUARANTINED')
    .orderBy('id')
    .limit(limit);
}

export async function quarantinedTotals(db: Db): Promise<{ count: number; amountFen: number }> {
  const row = (await db('recharge').where('sync_status', 'QUARANTINED').count({ n: '*' }).sum({ s: 'amount' }).first()) as
    { n: number | string; s: number | string | null } | undefined;
  return { count: Number(row?.n ?? 0), amountFen: Number(row?.s ?? 0) };
}

/** Rewards per sync state that are not settled yet: PENDING, CLAIMED, QUARANTINED (for the gauges). */
export async function unsyncedByState(db: Db): Promise<Record<'PENDING' | 'CLAIMED' | 'QUARANTINED', number>> {
  const rows = await (db('recharge')
    .select('sync_status')
    .count({ n: '*' })
    .whereIn('sync_status', ['PENDING', 'CLAIMED', 'QUARANTINED'])
    .groupBy('sync_status') as unknown as Promise<Array<{ sync_status: string; n: number | string }>>);
  const counts = { PENDING: 0, CLAIMED: 0, QUARANTINED: 0 };
  for (const row of rows) counts[row.sync_status as keyof typeof counts] = Number(row.n);
  return counts;
}

/**
 * Puts quarantined rewards back in the queue with a clean slate (no refusals, no reason): the one
 * with `rewardId`, or every one when it is null. Only QUARANTINED rows move; returns how many did.
 */
export async function requeueQuarantined(db: Db, rewardId: number | null): Promise<number> {
  const query = db('recharge').where('sync_status', 'QUARANTINED');
  if (rewardId !== null) void query.andWhere('id', rewardId);
  return query.update({
    sync_status: 'PENDING',
    sync_refusals: 0,
    sync_last_refusal: null,
    sync_quarantined_at: null,
    sync_batch_id: null,
  });
}

export async function syncStateOf(db: Db, rewardId: number): Promise<string | null> {
  const row = (await db('recharge').select('sync_status').where('id', rewardId).first()) as { sync_status: string } | undefined;
  return row?.sync_status ?? null;
}
