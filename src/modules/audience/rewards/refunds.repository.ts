import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { notRefundedSql } from './refund-filter';
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
 * reward time becomes that of the viewer's latest reward not refunded (this one's refund row is written).
 */
export async function takeOutOfConsumption(trx: Db, reward: RechargeRow, now: Date): Promise<void> {
  const kept = notRefundedSql('r');
  await trx.raw(
    `UPDATE audience SET
       total_amount = total_amount - ?,
       reward_count = reward_count - 1,
       last_reward_at = (SELECT MAX(r.created_at) FROM recharge r ${kept.join} WHERE r.audience_id = ? AND ${kept.where}),
       updated_at = ?
     WHERE id = ?`,
    [reward.amount, reward.audience_id, toDbTime(now), reward.audience_id],
  );
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

export async function markRefundDone(db: Db, rechargeId: number, now: Date): Promise<void> {
  await db('recharge_refund')
    .where({ recharge_id: rechargeId })
    .whereNull('done_at')
    .update({ done_at: toDbTime(now) });
}

/** How many refunds still wait for their effects (the gauge). */
export async function countUnfinishedRefunds(db: Db): Promise<number> {
  const row = (await db('recharge_refund').whereNull('done_at').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}
