import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { notRefunded } from './refund-filter';
import { REFUND_COLUMNS, type RefundRow } from './reward-ledger.repository';
import { RECHARGE_COLUMNS, type RechargeRow } from './rewards.repository';

/** The reward, locked until the transaction ends (MySQL; SQLite has one writer): two refunds of it run one after the other. */
export async function lockRecharge(trx: Db, id: number): Promise<RechargeRow | undefined> {
  const query = trx<RechargeRow>('recharge')
    .select(...RECHARGE_COLUMNS)
    .where({ id })
    .first();
  if (dialectOfDb(trx) === 'mysql') void query.forUpdate();
  return query;
}

export async function findRefund(db: Db, rechargeId: number): Promise<RefundRow | undefined> {
  return db<RefundRow>('recharge_refund')
    .select(...REFUND_COLUMNS)
    .where({ recharge_id: rechargeId })
    .first();
}

export async function insertRefund(trx: Db, row: RefundRow & { refund_trace_id: string | null }): Promise<void> {
  await trx('recharge_refund').insert(row);
}

/**
 * Takes the reward out of its viewer's consumption: the total and count drop by it, and the last
 * reward time becomes that of the viewer's latest reward not refunded (this one's refund row is
 * written). The viewer's row is locked first, as a reward's transaction does, and the latest time is
 * a plain read: a locking subquery inside the UPDATE would hold every reward of the viewer, and two
 * refunds of one viewer would deadlock.
 */
export async function takeOutOfConsumption(trx: Db, reward: RechargeRow, now: Date): Promise<void> {
  const lock = trx('audience').select('id').where({ id: reward.audience_id }).first();
  if (dialectOfDb(trx) === 'mysql') void lock.forUpdate();
  await lock;
  const latest = (await notRefunded(trx('recharge as r'), 'r.id')
    .where('r.audience_id', reward.audience_id)
    .max({ last: 'r.created_at' })
    .first()) as { last: string | null } | undefined;
  await trx('audience')
    .where({ id: reward.audience_id })
    .update({
      total_amount: trx.raw('total_amount - ?', [reward.amount]),
      reward_count: trx.raw('reward_count - 1'),
      last_reward_at: latest?.last ?? null,
      updated_at: toDbTime(now),
    });
}

/** Takes a reward the sync has not taken (PENDING, or QUARANTINED) out of its queue for good: it is never sent to finance. */
export async function leaveSyncQueue(trx: Db, rechargeId: number): Promise<boolean> {
  const updated = await trx('recharge')
    .where({ id: rechargeId })
    .whereIn('sync_status', ['PENDING', 'QUARANTINED'])
    .update({ sync_status: 'REFUNDED' });
  return updated > 0;
}

/** Marks the effects that succeeded just now; `all` marks the refund done. */
export async function markEffects(
  db: Db,
  rechargeId: number,
  effects: { room: boolean; boards: boolean; finance: boolean; all: boolean },
  now: Date,
): Promise<void> {
  const at = toDbTime(now);
  const update: Record<string, string> = {};
  if (effects.room) update['room_done_at'] = at;
  if (effects.boards) update['boards_done_at'] = at;
  if (effects.finance) update['finance_done_at'] = at;
  if (effects.all) update['done_at'] = at;
  if (Object.keys(update).length > 0) await db('recharge_refund').where({ recharge_id: rechargeId }).update(update);
}

/** Takes the reward out of its viewer's counter for the day, when the daily cap keeps one (locked first, like the reward path). */
export async function takeOutOfDailyTotal(trx: Db, args: { audienceId: number; day: string; amountFen: number }): Promise<void> {
  const query = trx('audience_daily_reward').select('amount').where({ audience_id: args.audienceId, reward_day: args.day }).first();
  if (dialectOfDb(trx) === 'mysql') void query.forUpdate();
  if (!(await query)) return;
  await trx('audience_daily_reward')
    .where({ audience_id: args.audienceId, reward_day: args.day })
    .update({ amount: trx.raw('amount - ?', [args.amountFen]) });
}

/** Refunds whose effects are not all confirmed, made before `createdBefore`, oldest first, at most `limit` (idx_recharge_refund_done). */
export async function unfinishedRefunds(db: Db, createdBefore: Date, limit: number): Promise<RefundRow[]> {
  return db<RefundRow>('recharge_refund')
    .select(...REFUND_COLUMNS)
    .whereNull('done_at')
    .andWhere('refunded_at', '<', toDbTime(createdBefore))
    .orderBy('refunded_at')
    .limit(limit);
}

/** How many refunds still wait for their effects (the gauge). */
export async function countUnfinishedRefunds(db: Db): Promise<number> {
  const row = (await db('recharge_refund').whereNull('done_at').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}
