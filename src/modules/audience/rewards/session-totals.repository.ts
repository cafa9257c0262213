import type { Db } from '../../../shared/db/knex';
import { notRefunded } from './refund-filter';

type Num = number | string | null;

/** Count and sum of the rewards of each session asked, refunded ones left out; through idx_recharge_session (live_session_id). */
export function sessionTotalsQuery(db: Db, sessionIds: readonly number[]) {
  return notRefunded(db('recharge'))
    .select('live_session_id')
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .whereIn('live_session_id', [...new Set(sessionIds)])
    .groupBy('live_session_id');
}

export async function sessionTotals(db: Db, sessionIds: readonly number[]): Promise<Array<{ live_session_id: number; n: Num; s: Num }>> {
  if (sessionIds.length === 0) return [];
  return sessionTotalsQuery(db, sessionIds) as unknown as Promise<Array<{ live_session_id: number; n: Num; s: Num }>>;
}
