import type { Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { RewardRecordRow } from './reward-records.repository';

/** Aggregates over `recharge` for reconciliation: the reward table is the source of truth. */

type Num = number | string | null;

export async function maxRechargeId(db: Db, createdBefore: Date | null): Promise<number> {
  const query = db('recharge').max({ id: 'id' });
  if (createdBefore) void query.where('created_at', '<', toDbTime(createdBefore));
  const row = (await query.first()) as { id: Num } | undefined;
  return Number(row?.id ?? 0);
}

export async function roomTotals(db: Db, liveRoomId: number, upToId: number): Promise<{ n: Num; s: Num }> {
  const row = (await db('recharge')
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .where('live_room_id', liveRoomId)
    .andWhere('id', '<=', upToId)
    .first()) as { n: Num; s: Num } | undefined;
  return row ?? { n: 0, s: 0 };
}

export async function totalsByRoom(db: Db, upToId: number): Promise<Array<{ live_room_id: number; anchor_id: number; n: Num; s: Num }>> {
  return db('recharge')
    .select('live_room_id', 'anchor_id')
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .where('id', '<=', upToId)
    .groupBy('live_room_id', 'anchor_id')
    .orderBy('live_room_id') as unknown as Promise<Array<{ live_room_id: number; anchor_id: number; n: Num; s: Num }>>;
}

export async function roomRewards(
  db: Db,
  args: { liveRoomId: number; afterId: number; upToId: number; limit: number },
): Promise<Array<{ id: number; trace_id: string; audience_id: number; amount: number }>> {
  return db('recharge')
    .select('id', 'trace_id', 'audience_id', 'amount')
    .where('live_room_id', args.liveRoomId)
    .andWhere('id', '>', args.afterId)
    .andWhere('id', '<=', args.upToId)
    .orderBy('id')
    .limit(args.limit) as Promise<Array<{ id: number; trace_id: string; audience_id: number; amount: number }>>;
}

/**
 * Per anchor, sync state and refund state (`live`, `refund_pending` — its effects not all confirmed —
 * or `refunded`): rewards with id <= upToId, or created in [from, to).
 */
export async function syncTotalsByAnchor(
  db: Db,
  scope: { upToId: number } | { from: Date; to: Date },
): Promise<Array<{ anchor_id: number; sync_status: string; refund: 'live' | 'refund_pending' | 'refunded'; n: Num; s: Num }>> {
  const query = db('recharge as r').leftJoin('recharge_refund as f', 'f.recharge_id', 'r.id');
  if ('upToId' in scope) void query.where('r.id', '<=', scope.upToId);
  else void query.where('r.created_at', '>=', toDbTime(scope.from)).where('r.created_at', '<', toDbTime(scope.to));
  const refund = db.raw(
    "CASE WHEN f.recharge_id IS NULL THEN 'live' WHEN f.finance_done_at IS NULL THEN 'refund_pending' ELSE 'refunded' END",
  );
  return query
    .select('r.anchor_id', 'r.sync_status', { refund })
    .count({ n: '*' })
    .sum({ s: 'r.amount' })
    .whereIn('r.sync_status', ['SYNCED', 'CLAIMED', 'QUARANTINED'])
    .groupBy('r.anchor_id', 'r.sync_status', refund)
    .orderBy('r.anchor_id');
}

/** A reward row as the records show it, with how far the finance sync has taken it and whether it is refunded. */
export interface StoredRewardRow extends RewardRecordRow {
  sync_status: string;
  refunded: number | null;
}

const STORED_COLUMNS = [
  'r.id',
  'r.trace_id',
  'r.audience_id',
  'r.live_room_id',
  'r.anchor_id',
  'r.amount',
  'r.created_at',
  'r.sync_status',
  { refunded: 'f.recharge_id' },
] as const;

const storedRewards = (db: Db) =>
  db('recharge as r')
    .leftJoin('recharge_refund as f', 'f.recharge_id', 'r.id')
    .select(...STORED_COLUMNS);

/** The rewards with these ids, by primary key. */
export async function rewardsByIds(db: Db, ids: readonly number[]): Promise<StoredRewardRow[]> {
  if (ids.length === 0) return [];
  return storedRewards(db).whereIn('r.id', [...new Set(ids)]) as Promise<StoredRewardRow[]>;
}

/** An anchor's rewards with afterId < id <= upTo, in id order, at most `limit`. */
export async function anchorRewards(
  db: Db,
  args: { anchorId: number; afterId: number; upToId: number; limit: number },
): Promise<StoredRewardRow[]> {
  return storedRewards(db)
    .where('r.anchor_id', args.anchorId)
    .andWhere('r.id', '>', args.afterId)
    .andWhere('r.id', '<=', args.upToId)
    .orderBy('r.id')
    .limit(args.limit) as Promise<StoredRewardRow[]>;
}

export interface RefundRow {
  recharge_id: number;
  reason: string;
  refunded_by: string;
  refunded_at: string;
  room_done_at: string | null;
  boards_done_at: string | null;
  finance_done_at: string | null;
  done_at: string | null;
}

export const REFUND_COLUMNS = [
  'recharge_id',
  'reason',
  'refunded_by',
  'refunded_at',
  'room_done_at',
  'boards_done_at',
  'finance_done_at',
  'done_at',
] as const;

/** The refunds of these rewards, by primary key. */
export async function refundsByIds(db: Db, ids: readonly number[]): Promise<RefundRow[]> {
  if (ids.length === 0) return [];
  return db<RefundRow>('recharge_refund')
    .select(...REFUND_COLUMNS)
    .whereIn('recharge_id', [...new Set(ids)]);
}
