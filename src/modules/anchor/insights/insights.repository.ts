import type { Db } from '../../../shared/db/knex';

/** The anchor module's side of the insights: who an anchor or a room is, and the names to show. */

export interface InsightAnchorRow {
  id: number;
  deleted_at: string | null;
}

/** The anchor, deleted or not (a deleted one is still visible to admins). */
export async function findAnchorForInsights(db: Db, anchorId: number): Promise<InsightAnchorRow | undefined> {
  return db<InsightAnchorRow>('anchor').select('id', 'deleted_at').where({ id: anchorId }).first();
}

export interface InsightRoomRow {
  id: number;
  anchor_id: number;
  anchor_deleted_at: string | null;
}

export async function findRoomForInsights(db: Db, liveRoomId: number): Promise<InsightRoomRow | undefined> {
  return db('live_room as l')
    .join('anchor as a', 'a.id', 'l.anchor_id')
    .select('l.id', 'l.anchor_id', 'a.deleted_at as anchor_deleted_at')
    .where('l.id', liveRoomId)
    .first() as Promise<InsightRoomRow | undefined>;
}

/** Names of the anchors among `ids` that are not deleted (a primary-key lookup per id). */
export async function namesOfListedAnchors(db: Db, ids: readonly number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = (await db('anchor').select('id', 'name').whereIn('id', ids).whereNull('deleted_at')) as Array<{ id: number; name: string }>;
  return new Map(rows.map((row) => [row.id, row.name]));
}
