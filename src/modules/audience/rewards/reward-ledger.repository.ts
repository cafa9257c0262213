import type { Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';

/** Aggregates over `recharge` for reconciliation: the reward table is the source of truth. */

type Num = number | string | null;

export async function maxRechargeId(db: Db, createdBefore: Date): Promise<number> {
  const row = (await db('recharge').max({ id: 'id' }).where('created_at', '<', toDbTime(createdBefore)).first()) as { id: Num } | undefined;
  return Number(row?.id ?? 0);
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

export async function syncTotalsByAnchor(db: Db, upToId: number): Promise<Array<{ anchor_id: number; sync_status: string; n: Num; s: Num }>> {
  return db('recharge')
    .select('anchor_id', 'sync_status')
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .where('id', '<=', upToId)
    .whereIn('sync_status', ['SYNCED', 'CLAIMED'])
    .groupBy('anchor_id', 'sync_status')
    .orderBy('anchor_id') as unknown as Promise<Array<{ anchor_id: number; sync_status: string; n: Num; s: Num }>>;
}

export interface StoredRewardRow {
  id: number;
  trace_id: string;
  audience_id: number;
  live_room_id: number;
  anchor_id: number;
  amount: number;
  created_at: string;
}

/** The rewards with these ids, by primary key. */
export async function rewardsByIds(db: Db, ids: readonly number[]): Promise<StoredRewardRow[]> {
  if (ids.length === 0) return [];
  return db<StoredRewardRow>('recharge').select('id', 'trace_id', 'audience_id', 'live_room_id', 'anchor_id', 'amount', 'created_at').whereIn('id', [...new Set(ids)]);
}
