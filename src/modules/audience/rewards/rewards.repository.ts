import { insertedIds, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { refundedColumn } from './refund-filter';

export interface RechargeRow {
  id: number;
  trace_id: string;
  audience_id: number;
  live_room_id: number;
  anchor_id: number;
  live_session_id: number | null;
  amount: number;
  gift_name: string | null;
  message: string | null;
  created_at: string;
}

export interface NewRecharge {
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  anchorId: number;
  liveSessionId: number | null;
  amountFen: number;
  giftName: string | null;
  message: string | null;
  createdAt: Date;
}

/** The columns of a RechargeRow. */
export const RECHARGE_COLUMNS = [
  'id',
  'trace_id',
  'audience_id',
  'live_room_id',
  'anchor_id',
  'live_session_id',
  'amount',
  'gift_name',
  'message',
  'created_at',
] as const;

export async function findRechargesByTraceIds(db: Db, traceIds: readonly string[]): Promise<RechargeRow[]> {
  if (traceIds.length === 0) return [];
  return db<RechargeRow>('recharge')
    .select(...RECHARGE_COLUMNS)
    .whereIn('trace_id', traceIds);
}

/** A reward with whether it is refunded (`refunded` 1 or 0). */
export type RechargeWithState = RechargeRow & { refunded: number | string };

export async function findRecharge(db: Db, id: number): Promise<RechargeWithState | undefined> {
  return db('recharge')
    .select(...RECHARGE_COLUMNS, refundedColumn(db))
    .where({ id })
    .first() as Promise<RechargeWithState | undefined>;
}

export async function findRechargeByTraceId(db: Db, traceId: string): Promise<RechargeWithState | undefined> {
  return db('recharge')
    .select(...RECHARGE_COLUMNS, refundedColumn(db))
    .where({ trace_id: traceId })
    .first() as Promise<RechargeWithState | undefined>;
}

/** One multi-row INSERT; returns the rows as stored (with their ids), in the order given. */
export async function insertRecharges(db: Db, rewards: readonly NewRecharge[]): Promise<RechargeRow[]> {
  const rows = rewards.map((r) => ({
    trace_id: r.traceId,
    audience_id: r.audienceId,
    live_room_id: r.liveRoomId,
    anchor_id: r.anchorId,
    live_session_id: r.liveSessionId,
    amount: r.amountFen,
    gift_name: r.giftName,
    message: r.message,
    created_at: toDbTime(r.createdAt),
  }));
  const ids = await insertedIds(db, await db('recharge').insert(rows.map((row) => ({ ...row, sync_status: 'PENDING' }))), rows.length);
  if (ids) return rows.map((row, i) => ({ id: ids[i] as number, ...row }));
  // The server may have interleaved ids with other inserts: read them back.
  return findRechargesByTraceIds(
    db,
    rewards.map((r) => r.traceId),
  );
}

export interface AudienceState {
  id: number;
  status: string;
}

export async function findAudienceStates(db: Db, ids: readonly number[]): Promise<AudienceState[]> {
  if (ids.length === 0) return [];
  return db<AudienceState>('audience')
    .select('id', 'status')
    .whereIn('id', [...new Set(ids)]);
}

/**
 * Adds each viewer's rewards of the batch to its consumption stats in ONE statement (CASE per id),
 * touching rows in id order so concurrent batches do not deadlock each other.
 */
export async function addConsumption(db: Db, rewards: readonly NewRecharge[]): Promise<void> {
  const byViewer = new Map<number, { amount: number; count: number; last: Date }>();
  for (const r of rewards) {
    const entry = byViewer.get(r.audienceId) ?? { amount: 0, count: 0, last: r.createdAt };
    entry.amount += r.amountFen;
    entry.count += 1;
    if (r.createdAt > entry.last) entry.last = r.createdAt;
    byViewer.set(r.audienceId, entry);
  }
  const ids = [...byViewer.keys()].sort((a, b) => a - b);
  const amountCase = ids.map(() => 'WHEN ? THEN ?').join(' ');
  const countCase = amountCase;
  const lastCase = amountCase;
  const amounts = ids.flatMap((id) => [id, byViewer.get(id)!.amount]);
  const counts = ids.flatMap((id) => [id, byViewer.get(id)!.count]);
  const lasts = ids.flatMap((id) => [id, toDbTime(byViewer.get(id)!.last)]);
  const now = toDbTime(new Date(Math.max(...[...byViewer.values()].map((v) => v.last.getTime()))));
  // last_reward_at never moves backwards, whatever order concurrent batches commit in.
  await db.raw(
    `UPDATE audience SET
       total_amount = total_amount + CASE id ${amountCase} END,
       reward_count = reward_count + CASE id ${countCase} END,
       last_reward_at = CASE WHEN last_reward_at IS NULL OR last_reward_at < CASE id ${lastCase} END
                             THEN CASE id ${lastCase} END ELSE last_reward_at END,
       updated_at = ?
     WHERE id IN (${ids.map(() => '?').join(', ')})`,
    [...amounts, ...counts, ...lasts, ...lasts, now, ...ids],
  );
}

export async function countUnsynced(db: Db): Promise<number> {
  const row = (await db('recharge').whereIn('sync_status', ['PENDING', 'CLAIMED']).count({ n: '*' }).first()) as
    { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

export interface SweptReward {
  id: number;
  trace_id: string;
  audience_id: number;
  live_room_id: number;
  amount: number;
}

/** Rewards with id > afterId created before `createdBefore`, in id order, at most `limit` (the sweep's next page). */
export async function rewardsAfter(db: Db, args: { afterId: number; createdBefore: Date; limit: number }): Promise<SweptReward[]> {
  return db<SweptReward>('recharge')
    .select('id', 'trace_id', 'audience_id', 'live_room_id', 'amount')
    .where('id', '>', args.afterId)
    .andWhere('created_at', '<', toDbTime(args.createdBefore))
    .orderBy('id')
    .limit(args.limit);
}
