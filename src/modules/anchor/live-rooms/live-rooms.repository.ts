import type { Db } from '../../../shared/db/knex';
import { dialectOfDb, insertedId } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { LiveRoomStatus } from '../contract';

export interface LiveRoomRow {
  id: number;
  anchor_id: number;
  title: string;
  category: string | null;
  status: LiveRoomStatus;
  current_session_id: number | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = ['id', 'anchor_id', 'title', 'category', 'status', 'current_session_id', 'created_at', 'updated_at'] as const;

/** Inserts the room and its zeroed realtime row; call inside a transaction. */
export async function insertLiveRoom(
  db: Db,
  args: { anchorId: number; title: string; category: string | null; now: Date },
): Promise<number> {
  const at = toDbTime(args.now);
  const id = insertedId(
    await db('live_room').insert({
      anchor_id: args.anchorId,
      title: args.title,
      category: args.category,
      status: 'IDLE',
      current_session_id: null,
      created_at: at,
      updated_at: at,
    }),
  );
  await db('live_room_realtime').insert({
    live_room_id: id,
    anchor_id: args.anchorId,
    total_earnings: 0,
    recharge_count: 0,
    updated_at: at,
  });
  return id;
}

export async function findLiveRoom(db: Db, id: number, options: { forUpdate?: boolean } = {}): Promise<LiveRoomRow | undefined> {
  const query = db<LiveRoomRow>('live_room')
    .select(...COLUMNS)
    .where({ id })
    .first();
  // SQLite has no row locks; its single writer connection serialises these transactions anyway.
  if (options.forUpdate && dialectOfDb(db) === 'mysql') void query.forUpdate();
  return query;
}

export async function openSession(db: Db, args: { liveRoomId: number; anchorId: number; now: Date }): Promise<number> {
  const at = toDbTime(args.now);
  const sessionId = insertedId(
    await db('live_session').insert({ live_room_id: args.liveRoomId, anchor_id: args.anchorId, started_at: at, ended_at: null }),
  );
  await db('live_room').where({ id: args.liveRoomId }).update({ status: 'LIVE', current_session_id: sessionId, updated_at: at });
  return sessionId;
}

export async function closeSession(db: Db, args: { liveRoomId: number; sessionId: number | null; now: Date }): Promise<void> {
  const at = toDbTime(args.now);
  if (args.sessionId !== null) {
    await db('live_session').where({ id: args.sessionId }).whereNull('ended_at').update({ ended_at: at });
  }
  await db('live_room').where({ id: args.liveRoomId }).update({ status: 'IDLE', current_session_id: null, updated_at: at });
}

export interface RewardTargetRow {
  id: number;
  anchor_id: number;
  status: LiveRoomStatus;
  current_session_id: number | null;
  anchor_status: string;
}

/** Rooms with their anchor's status, for judging rewards: one query for many rooms. */
export async function findRewardTargets(db: Db, ids: readonly number[]): Promise<RewardTargetRow[]> {
  if (ids.length === 0) return [];
  return db('live_room as l')
    .join('anchor as a', 'a.id', 'l.anchor_id')
    .select('l.id', 'l.anchor_id', 'l.status', 'l.current_session_id', 'a.status as anchor_status')
    .whereIn('l.id', [...new Set(ids)])
    .whereNull('a.deleted_at') as Promise<RewardTargetRow[]>;
}
