import type { Knex } from 'knex';
import { dialectOfDb, insertedId, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { AudienceStatus } from '../contract';

export interface AudienceRow {
  id: number;
  nickname: string;
  status: AudienceStatus;
  anonymous: boolean | number;
  created_at: string;
  updated_at: string;
}

const COLUMNS = ['id', 'nickname', 'status', 'anonymous', 'created_at', 'updated_at'] as const;

export async function insertAudience(db: Db, args: { nickname: string; now: Date }): Promise<number> {
  const at = toDbTime(args.now);
  return insertedId(await db('audience').insert({ nickname: args.nickname, status: 'ACTIVE', created_at: at, updated_at: at }));
}

export async function findAudience(db: Db, id: number): Promise<AudienceRow | undefined> {
  return db<AudienceRow>('audience')
    .select(...COLUMNS)
    .where({ id })
    .first();
}

/** Changes the given fields; false when there is no such viewer. */
export async function updateAudience(
  db: Db,
  args: { id: number; nickname?: string | undefined; anonymous?: boolean | undefined; now: Date },
): Promise<boolean> {
  const changes: Record<string, string | number> = { updated_at: toDbTime(args.now) };
  if (args.nickname !== undefined) changes['nickname'] = args.nickname;
  // 1/0 rather than a boolean: better-sqlite3 binds no booleans, and MySQL's BOOLEAN is a TINYINT.
  if (args.anonymous !== undefined) changes['anonymous'] = args.anonymous ? 1 : 0;
  return (await db('audience').where({ id: args.id }).update(changes)) > 0;
}

export interface AudienceFilter {
  status?: AudienceStatus | undefined;
  /** A part of the nickname, matched case-insensitively. */
  keyword?: string | undefined;
}

/** `%` and `_` in a keyword match themselves: escaped with `!`, an escape character both databases accept as written. */
function containing(keyword: string): string {
  return `%${keyword.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/**
 * MariaDB's cost model sorts a table of tens of thousands of rows (measured: still at 30,000) rather
 * than walk the list index and look rows up: a whole-table read per page. The hint keeps the one plan
 * that costs the same at any size; SQLite's planner walks the index for ORDER BY … LIMIT by itself.
 */
function fromListIndex(db: Db, filter: AudienceFilter): Knex.QueryBuilder {
  if (dialectOfDb(db) !== 'mysql') return db('audience');
  return db.from(db.raw('?? FORCE INDEX (??)', ['audience', filter.status ? 'idx_audience_status_list' : 'idx_audience_list']));
}

function filtered(query: Knex.QueryBuilder, filter: AudienceFilter): Knex.QueryBuilder {
  if (filter.status) void query.where('status', filter.status);
  // LOWER on both sides: case-insensitive whatever the column's collation (SQLite: ASCII letters only).
  if (filter.keyword) void query.whereRaw("LOWER(nickname) LIKE LOWER(?) ESCAPE '!'", [containing(filter.keyword)]);
  return query;
}

/**
 * One page of viewers, newest first: walks idx_audience_status_list (with a status) or
 * idx_audience_list backwards and stops after the page; the keyword is tested on the index entries.
 */
export function audiencePageQuery(db: Db, filter: AudienceFilter, page: { limit: number; offset: number }): Knex.QueryBuilder {
  return filtered(fromListIndex(db, filter), filter)
    .select(...COLUMNS)
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(page.limit)
    .offset(page.offset);
}

/**
 * How many viewers match: never a row read, only index entries — those of the status (a range of
 * idx_audience_status_list), else all of them (the keyword tested on each); the optimizer picks that by itself.
 */
export function audienceCountQuery(db: Db, filter: AudienceFilter): Knex.QueryBuilder {
  return filtered(db('audience'), filter).count({ n: '*' });
}

export async function listAudiences(
  db: Db,
  filter: AudienceFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: AudienceRow[]; total: number }> {
  const [rows, counted] = await Promise.all([
    audiencePageQuery(db, filter, page) as Promise<AudienceRow[]>,
    audienceCountQuery(db, filter) as Promise<Array<{ n: number | string }>>,
  ]);
  return { rows, total: Number(counted[0]?.n ?? 0) };
}

/** Nickname and anonymity of the viewers among `ids` (unknown ids are absent). */
export async function findProfiles(db: Db, ids: readonly number[]): Promise<Array<Pick<AudienceRow, 'id' | 'nickname' | 'anonymous'>>> {
  if (ids.length === 0) return [];
  return db('audience')
    .select('id', 'nickname', 'anonymous')
    .whereIn('id', [...new Set(ids)]);
}

export interface ConsumptionRow {
  id: number;
  total_amount: number;
  reward_count: number;
  last_reward_at: string | null;
}

export async function findConsumption(db: Db, id: number): Promise<ConsumptionRow | undefined> {
  return db<ConsumptionRow>('audience').select('id', 'total_amount', 'reward_count', 'last_reward_at').where({ id }).first();
}
