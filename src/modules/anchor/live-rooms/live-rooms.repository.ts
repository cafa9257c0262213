import type { Db } from '../../../shared/db/knex';
import { dialectOfDb, insertedId } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { LiveRoomStatus } from '../contract';
import { indexedTable } from '../indexed-table';
import { containsPattern } from '../like-pattern';

export interface LiveRoomRow {
  id: number;
  anchor_id: number;
  title: string;
  category: string | null;
  cover_url: string | null;
  status: LiveRoomStatus;
  current_session_id: number | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = ['id', 'anchor_id', 'title', 'category', 'cover_url', 'status', 'current_session_id', 'created_at', 'updated_at'] as const;

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

export async function updateLiveRoomDetails(
  db: Db,
  args: { id: number; title?: string | undefined; category?: string | null | undefined; coverUrl?: string | null | undefined; now: Date },
): Promise<void> {
  const changes: Record<string, unknown> = { updated_at: toDbTime(args.now) };
  if (args.title !== undefined) changes['title'] = args.title;
  if (args.category !== undefined) changes['category'] = args.category;
  if (args.coverUrl !== undefined) changes['cover_url'] = args.coverUrl;
  await db('live_room').where({ id: args.id }).update(changes);
}

export async function openSession(db: Db, args: { liveRoomId: number; anchorId: number; now: Date }): Promise<number> {
  const at = toDbTime(args.now);
  const sessionId = insertedId(
    await db('live_session').insert({ live_room_id: args.liveRoomId, anchor_id: args.anchorId, started_at: at, ended_at: null }),
  );
  await db('live_room').where({ id: args.liveRoomId }).update({ status: 'LIVE', current_session_id: sessionId, updated_at: at });
  return sessionId;
}

/** Ends the room's session (if any) and leaves the room IDLE, or CLOSED when asked. */
export async function closeSession(
  db: Db,
  args: { liveRoomId: number; sessionId: number | null; now: Date; roomStatus?: 'IDLE' | 'CLOSED' },
): Promise<void> {
  const at = toDbTime(args.now);
  if (args.sessionId !== null) {
    await db('live_session').where({ id: args.sessionId }).whereNull('ended_at').update({ ended_at: at });
  }
  await db('live_room')
    .where({ id: args.liveRoomId })
    .update({ status: args.roomStatus ?? 'IDLE', current_session_id: null, updated_at: at });
}

/** The anchor's rooms, through idx_live_room_anchor. */
export function roomsOfAnchorQuery(db: Db, anchorId: number) {
  return db<LiveRoomRow>('live_room')
    .select(...COLUMNS)
    .where({ anchor_id: anchorId });
}

/** The anchor's rooms, locked (a disable or delete ends their sessions). */
export async function lockRoomsOfAnchor(db: Db, anchorId: number): Promise<LiveRoomRow[]> {
  const query = roomsOfAnchorQuery(db, anchorId);
  if (dialectOfDb(db) === 'mysql') void query.forUpdate();
  return query;
}

export interface RewardTargetRow {
  id: number;
  anchor_id: number;
  status: LiveRoomStatus;
  current_session_id: number | null;
  anchor_status: string;
}

/**
 * Rooms with their anchor's status, for judging rewards: one query for many rooms, read from DB1
 * on every call (no cache), so a disable or delete committed on any instance refuses the next reward.
 * A deleted anchor's rooms come back with its status DELETED: their rewards are refused, not unknown.
 */
export async function findRewardTargets(db: Db, ids: readonly number[]): Promise<RewardTargetRow[]> {
  if (ids.length === 0) return [];
  return db('live_room as l')
    .join('anchor as a', 'a.id', 'l.anchor_id')
    .select('l.id', 'l.anchor_id', 'l.status', 'l.current_session_id', 'a.status as anchor_status')
    .whereIn('l.id', [...new Set(ids)]) as Promise<RewardTargetRow[]>;
}

export interface LiveRoomListFilter {
  statuses: readonly LiveRoomStatus[];
  anchorId?: number | undefined;
  category?: string | undefined;
  keyword?: string | undefined;
}

/**
 * Rooms matching the filter, for `ORDER BY id DESC`: by anchor through idx_live_room_anchor, by
 * category through idx_live_room_category, else by status through idx_live_room_status (each
 * ends in the primary key, so the order needs no sort of the whole match).
 */
export function liveRoomListQuery(db: Db, filter: LiveRoomListFilter) {
  const index =
    filter.anchorId !== undefined
      ? 'idx_live_room_anchor'
      : filter.category !== undefined
        ? 'idx_live_room_category'
        : 'idx_live_room_status';
  const query = indexedTable(db, 'live_room', index).whereIn('status', [...filter.statuses]);
  if (filter.anchorId !== undefined) void query.where('anchor_id', filter.anchorId);
  if (filter.category !== undefined) void query.where('category', filter.category);
  if (filter.keyword !== undefined) void query.whereRaw("title like ? escape '!'", [containsPattern(filter.keyword)]);
  return query;
}

export function liveRoomPageQuery(db: Db, filter: LiveRoomListFilter, page: { offset: number; limit: number }) {
  return liveRoomListQuery(db, filter)
    .select(...COLUMNS)
    .orderBy('id', 'desc')
    .offset(page.offset)
    .limit(page.limit);
}

export async function listLiveRooms(db: Db, filter: LiveRoomListFilter, page: { offset: number; limit: number }) {
  const [rows, counted] = await Promise.all([
    liveRoomPageQuery(db, filter, page) as Promise<LiveRoomRow[]>,
    liveRoomListQuery(db, filter).count({ n: '*' }).first() as Promise<{ n: number | string } | undefined>,
  ]);
  return { rows, total: Number(counted?.n ?? 0) };
}

/**
 * LIVE rooms with the largest flushed earnings (DB1's `live_room_realtime`), at most `limit`:
 * the candidates for "live now", whose exact figures (plus Redis's pending deltas) decide the order.
 * Through idx_live_room_status; the sort covers the LIVE rooms only, never the whole table.
 */
export function liveNowCandidatesQuery(db: Db, limit: number) {
  const query = indexedTable(db, 'live_room as l', 'idx_live_room_status');
  // LIVE rooms first, then each one's realtime row by its key: the other order would read every room's row.
  if (dialectOfDb(db) === 'mysql')
    void query.joinRaw('straight_join ?? force index (primary) on ?? = ??', ['live_room_realtime as r', 'r.live_room_id', 'l.id']);
  else void query.join('live_room_realtime as r', 'r.live_room_id', 'l.id');
  return query
    .select(...COLUMNS.map((column) => `l.${column}`))
    .where('l.status', 'LIVE')
    .orderBy([
      { column: 'r.total_earnings', order: 'desc' },
      { column: 'l.id', order: 'asc' },
    ])
    .limit(limit);
}

export async function liveNowCandidates(db: Db, limit: number): Promise<LiveRoomRow[]> {
  return liveNowCandidatesQuery(db, limit);
}
