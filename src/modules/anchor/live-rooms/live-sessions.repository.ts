import type { Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';

export interface LiveSessionRow {
  id: number;
  live_room_id: number;
  started_at: string;
  ended_at: string | null;
  total_earnings: number | null;
  recharge_count: number | null;
  totals_settled_at: string | null;
}

const COLUMNS = ['id', 'live_room_id', 'started_at', 'ended_at', 'total_earnings', 'recharge_count', 'totals_settled_at'] as const;

/** A room's sessions, newest first, through idx_live_session_room (live_room_id, started_at). */
export function sessionListQuery(db: Db, liveRoomId: number) {
  return db('live_session').where('live_room_id', liveRoomId);
}

export function sessionPageQuery(db: Db, liveRoomId: number, page: { offset: number; limit: number }) {
  return sessionListQuery(db, liveRoomId)
    .select(...COLUMNS)
    .orderBy([
      { column: 'started_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .offset(page.offset)
    .limit(page.limit);
}

export async function listSessions(db: Db, liveRoomId: number, page: { offset: number; limit: number }) {
  const [rows, counted] = await Promise.all([
    sessionPageQuery(db, liveRoomId, page) as Promise<LiveSessionRow[]>,
    sessionListQuery(db, liveRoomId).count({ n: '*' }).first() as Promise<{ n: number | string } | undefined>,
  ]);
  return { rows, total: Number(counted?.n ?? 0) };
}

export async function findSession(db: Db, id: number): Promise<LiveSessionRow | undefined> {
  return db<LiveSessionRow>('live_session')
    .select(...COLUMNS)
    .where({ id })
    .first();
}

/** Ended sessions whose totals are not final, ended before `endedBefore`; through idx_live_session_settle. */
export function unsettledSessionsQuery(db: Db, endedBefore: Date, limit: number) {
  return db('live_session')
    .select('id')
    .whereNull('totals_settled_at')
    .whereNotNull('ended_at')
    .where('ended_at', '<', toDbTime(endedBefore))
    .orderBy('ended_at', 'asc')
    .limit(limit);
}

export async function unsettledSessions(db: Db, endedBefore: Date, limit: number): Promise<number[]> {
  return ((await unsettledSessionsQuery(db, endedBefore, limit)) as Array<{ id: number }>).map((row) => row.id);
}

/** Stores a session's final totals (only while not yet settled: a second writer changes nothing). */
export async function settleSessionTotals(
  db: Db,
  args: { id: number; totalEarningsFen: number; rechargeCount: number; now: Date },
): Promise<void> {
  await db('live_session')
    .where({ id: args.id })
    .whereNull('totals_settled_at')
    .update({
      total_earnings: args.totalEarningsFen,
      recharge_count: args.rechargeCount,
      totals_settled_at: toDbTime(args.now),
    });
}

/** A refund changed the session's rewards: its stored totals stop being final, reads count the rows and the job stores them again. */
export async function unsettleSessionTotals(db: Db, id: number): Promise<void> {
  await db('live_session').where({ id }).whereNotNull('totals_settled_at').update({ totals_settled_at: null });
}

/** A room's sessions that overlap `[from, to)` (started before `to`, not ended by `from`), newest first, at most `limit`. */
export async function sessionsOverlapping(
  db: Db,
  liveRoomId: number,
  range: { from: Date; to: Date },
  limit: number,
): Promise<LiveSessionRow[]> {
  return sessionListQuery(db, liveRoomId)
    .select(...COLUMNS)
    .andWhere('started_at', '<', toDbTime(range.to))
    .andWhere((q) => void q.whereNull('ended_at').orWhere('ended_at', '>', toDbTime(range.from)))
    .orderBy([
      { column: 'started_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(limit) as Promise<LiveSessionRow[]>;
}
