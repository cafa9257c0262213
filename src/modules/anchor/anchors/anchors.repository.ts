import type { Db } from '../../../shared/db/knex';
import { dialectOfDb, insertedId } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { AnchorStatus } from '../contract';
import { indexedTable } from '../indexed-table';
import { containsPattern } from '../like-pattern';

export interface AnchorRow {
  id: number;
  name: string;
  avatar_url: string | null;
  status: AnchorStatus;
  created_at: string;
  updated_at: string;
}

const COLUMNS = ['id', 'name', 'avatar_url', 'status', 'created_at', 'updated_at'] as const;

export async function insertAnchor(db: Db, args: { name: string; avatarUrl: string | null; now: Date }): Promise<number> {
  const at = toDbTime(args.now);
  const result = await db('anchor').insert({
    name: args.name,
    avatar_url: args.avatarUrl,
    status: 'ACTIVE',
    created_at: at,
    updated_at: at,
  });
  return insertedId(result);
}

/** The anchor unless it was deleted (what everyone but an admin may see). */
export async function findAnchor(db: Db, id: number): Promise<AnchorRow | undefined> {
  return db<AnchorRow>('anchor')
    .select(...COLUMNS)
    .where({ id })
    .whereNull('deleted_at')
    .first();
}

/** The anchor, a deleted one too (status DELETED); locked for the rest of the transaction when asked. */
export async function findAnchorAnyState(db: Db, id: number, options: { forUpdate?: boolean } = {}): Promise<AnchorRow | undefined> {
  const query = db<AnchorRow>('anchor')
    .select(...COLUMNS)
    .where({ id })
    .first();
  if (options.forUpdate && dialectOfDb(db) === 'mysql') void query.forUpdate();
  return query;
}

export async function updateAnchorProfile(
  db: Db,
  args: { id: number; name?: string | undefined; avatarUrl?: string | null | undefined; now: Date },
): Promise<void> {
  const changes: Record<string, unknown> = { updated_at: toDbTime(args.now) };
  if (args.name !== undefined) changes['name'] = args.name;
  if (args.avatarUrl !== undefined) changes['avatar_url'] = args.avatarUrl;
  await db('anchor').where({ id: args.id }).update(changes);
}

export async function setAnchorStatus(db: Db, args: { id: number; status: AnchorStatus; now: Date }): Promise<void> {
  const at = toDbTime(args.now);
  await db('anchor')
    .where({ id: args.id })
    .update({ status: args.status, updated_at: at, ...(args.status === 'DELETED' ? { deleted_at: at } : {}) });
}

export interface AnchorListFilter {
  statuses: readonly AnchorStatus[];
  keyword?: string | undefined;
}

/** Newest first, through idx_anchor_status (status, + the primary key): `status IN (…) ORDER BY id DESC`. */
export function anchorListQuery(db: Db, filter: AnchorListFilter) {
  const query = indexedTable(db, 'anchor', 'idx_anchor_status').whereIn('status', [...filter.statuses]);
  if (filter.keyword !== undefined) void query.whereRaw("name like ? escape '!'", [containsPattern(filter.keyword)]);
  return query;
}

export function anchorPageQuery(db: Db, filter: AnchorListFilter, page: { offset: number; limit: number }) {
  return anchorListQuery(db, filter)
    .select(...COLUMNS)
    .orderBy('id', 'desc')
    .offset(page.offset)
    .limit(page.limit);
}

export async function listAnchors(db: Db, filter: AnchorListFilter, page: { offset: number; limit: number }) {
  const [rows, counted] = await Promise.all([
    anchorPageQuery(db, filter, page) as Promise<AnchorRow[]>,
    anchorListQuery(db, filter).count({ n: '*' }).first() as Promise<{ n: number | string } | undefined>,
  ]);
  return { rows, total: Number(counted?.n ?? 0) };
}
