import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { notRefunded } from './refund-filter';

/** What one viewer rewarded on one calendar day (`YYYY-MM-DD` in TIME_ZONE), in fen: the daily cap's counter. */
export interface DailyTotalRow {
  audience_id: number;
  reward_day: string;
  amount: number;
}

export interface DailyAmount {
  audienceId: number;
  day: string;
  amountFen: number;
}

const COLUMNS = ['audience_id', 'reward_day', 'amount'] as const;

/** The counter rows among these viewers and days (a plain read: it waits for no lock). */
export async function findDailyTotals(db: Db, audienceIds: readonly number[], days: readonly string[]): Promise<DailyTotalRow[]> {
  return db<DailyTotalRow>('audience_daily_reward')
    .select(...COLUMNS)
    .whereIn('audience_id', audienceIds)
    .whereIn('reward_day', days);
}

/** Creates the counter rows that do not exist yet, each with its opening amount; a row another writer created meanwhile is left as it is. */
export async function openDailyTotals(db: Db, rows: readonly DailyAmount[]): Promise<void> {
  await db('audience_daily_reward')
    .insert(rows.map((r) => ({ audience_id: r.audienceId, reward_day: r.day, amount: r.amountFen })))
    .onConflict(['audience_id', 'reward_day'])
    .ignore();
}

/** Each viewer's sum of rewards created in [from, to), refunded ones left out, read along idx_recharge_audience_time; viewers without any are absent. */
export async function rewardSumsBetween(db: Db, audienceIds: readonly number[], from: Date, to: Date): Promise<Map<number, number>> {
  const rows: Array<{ audience_id: number; s: number | string | null }> = await notRefunded(db('recharge'))
    .select('audience_id')
    .sum({ s: 'amount' })
    .whereIn('audience_id', audienceIds)
    .andWhere('created_at', '>=', toDbTime(from))
    .andWhere('created_at', '<', toDbTime(to))
    .groupBy('audience_id');
  return new Map(rows.map((r) => [r.audience_id, Number(r.s ?? 0)]));
}

/**
 * Reads the counter rows and, on MySQL, locks them until the transaction ends — in key order, so
 * two transactions never wait for each other in a circle. (SQLite has one writer at a time.)
 */
export async function lockDailyTotals(trx: Db, audienceIds: readonly number[], days: readonly string[]): Promise<DailyTotalRow[]> {
  const query = trx<DailyTotalRow>('audience_daily_reward')
    .select(...COLUMNS)
    .whereIn('audience_id', audienceIds)
    .whereIn('reward_day', days)
    .orderBy(['audience_id', 'reward_day']);
  if (dialectOfDb(trx) === 'mysql') void query.forUpdate();
  return query;
}

/** Adds to several counter rows in one statement. */
export async function addToDailyTotals(trx: Db, additions: readonly DailyAmount[]): Promise<void> {
  if (additions.length === 0) return;
  const cases = additions.map(() => 'WHEN audience_id = ? AND reward_day = ? THEN ?').join(' ');
  const ids = [...new Set(additions.map((a) => a.audienceId))];
  const days = [...new Set(additions.map((a) => a.day))];
  await trx.raw(
    `UPDATE audience_daily_reward SET amount = amount + CASE ${cases} ELSE 0 END
     WHERE audience_id IN (${ids.map(() => '?').join(', ')}) AND reward_day IN (${days.map(() => '?').join(', ')})`,
    [...additions.flatMap((a) => [a.audienceId, a.day, a.amountFen]), ...ids, ...days],
  );
}
