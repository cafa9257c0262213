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

/** Per anchor and sync state: rewards with id <= upToId, or created in [from, to). */
export async function syncTotalsByAnchor(
  db: Db,
  scope: { upToId: number } | { from: Date; to: Date },
): Promise<Array<{ anchor_id: number; sync_status: string; n: Num; s: Num }>> {
  const query = db('recharge');
  if ('upToId' in scope) void query.where('id', '<=', scope.upToId);
  else void query.where('created_at', '>=', toDbTime(scope.from)).where('created_at', '<', toDbTime(scope.to));
  return query
    .select('anchor_id', 'sync_status')
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .whereIn('sync_status', ['SYNCED', 'CLAIMED', 'QUARANTINED'])
    .groupBy('anchor_id', 'sync_status')
    .orderBy('anchor_id') as unknown as Promise<Array<{ anchor_id: number; sync_status: string; n: Num; s: Num }>>;
}

/** A reward row as the records show it, with how far the finance sync has taken it. */
export interface StoredRewardRow extends RewardRecordRow {
  sync_status: string;
}

const STORED_COLUMNS = ['id', 'trace_id', 'audience_id', 'live_room_id', 'anchor_id', 'amount', 'created_at', 'sync_status'] as const;

/** The rewards with these ids, by primary key. */
export async function rewardsByIds(db: Db, ids: readonly number[]): Promise<StoredRewardRow[]> {
  if (ids.length === 0) return [];
  return db<StoredRewardRow>('recharge')
    .select(...STORED_COLUMNS)
    .whereIn('id', [...new Set(ids)]);
}

/** An anchor's rewards with afterId < id <= upTo, in id order, at most `limit`. */
export async function anchorRewards(
  db: Db,
  args: { anchorId: number; afterId: number; upToId: number; limit: number },
): Promise<StoredRewardRow[]> {
  return db<StoredRewardRow>('recharge')
    .select(...STORED_COLUMNS)
    .where('anchor_id', args.anchorId)
    .andWhere('id', '>', args.afterId)
    .andWhere('id', '<=', args.upToId)
    .orderBy('id')
    .limit(args.limit);
}
