import type { Knex } from 'knex';
import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { notRefunded } from '../rewards/refund-filter';

/** Whose rewards a board ranks: one room's, or the whole platform's (`liveRoomId` null). */
export interface BoardScope {
  liveRoomId: number | null;
}

/** A viewer's rewards on a board: the sum in fen, how many, the first one's time (DB1 text). */
export interface ViewerTotalsRow {
  audience_id: number;
  total_amount: number | string;
  reward_count: number | string;
  first_at: string;
}

export interface BoardRewardRow {
  id: number;
  audience_id: number;
  amount: number;
  created_at: string;
}

/** `[from, before)`; either end open when null. */
export interface TimeRange {
  from: Date | null;
  before: Date | null;
}

/** `table` read through `index` on MariaDB, whose planner's choice follows its statistics; SQLite picks the range itself. */
function withIndex(db: Db, table: string, index: string): Knex.QueryBuilder {
  return dialectOfDb(db) === 'mysql' ? db.from(db.raw('?? FORCE INDEX (??)', [table, index])) : db(table);
}

/** The scope and time range over the index that serves it: (live_room_id, created_at) for a room, (created_at) for the platform. */
function rewardsOf(db: Db, scope: BoardScope, range: TimeRange): Knex.QueryBuilder {
  // MariaDB's planner prefers (audience_id, created_at) for the GROUP BY's order, or a full scan while
  // the table is small: on a large table either reads every reward.
  const query = notRefunded(withIndex(db, 'recharge', scope.liveRoomId === null ? 'idx_recharge_time' : 'idx_recharge_room_time'));
  if (scope.liveRoomId !== null) void query.where('live_room_id', scope.liveRoomId);
  if (range.from) void query.where('created_at', '>=', toDbTime(range.from));
  if (range.before) void query.where('created_at', '<', toDbTime(range.before));
  return query;
}

/** Every viewer's totals on the board over the range (a rebuild's base): one GROUP BY over the scope's index range. */
export function viewerTotalsQuery(db: Db, scope: BoardScope, range: TimeRange): Knex.QueryBuilder {
  return rewardsOf(db, scope, range)
    .select('audience_id')
    .sum({ total_amount: 'amount' })
    .count({ reward_count: '*' })
    .min({ first_at: 'created_at' })
    .groupBy('audience_id');
}

export async function viewerTotals(db: Db, scope: BoardScope, range: TimeRange): Promise<ViewerTotalsRow[]> {
  return (await viewerTotalsQuery(db, scope, range)) as ViewerTotalsRow[];
}

/** The board's top `limit` straight from DB1 (no Redis): largest first, ties to the earlier first reward, then the lower id. */
export function topViewerTotalsQuery(db: Db, scope: BoardScope, range: TimeRange, limit: number): Knex.QueryBuilder {
  return db
    .select('t.audience_id', 't.total_amount', 't.reward_count', 't.first_at')
    .from(viewerTotalsQuery(db, scope, range).as('t'))
    .orderBy([
      { column: 't.total_amount', order: 'desc' },
      { column: 't.first_at', order: 'asc' },
      { column: 't.audience_id', order: 'asc' },
    ])
    .limit(limit);
}

export async function topViewerTotals(db: Db, scope: BoardScope, range: TimeRange, limit: number): Promise<ViewerTotalsRow[]> {
  return (await topViewerTotalsQuery(db, scope, range, limit)) as ViewerTotalsRow[];
}

/** The scope's rewards in the range one by one, oldest first, at most `limit` (a board's catch-up). */
export function boardRewardsQuery(db: Db, scope: BoardScope, range: TimeRange, limit: number): Knex.QueryBuilder {
  return rewardsOf(db, scope, range)
    .select('id', 'audience_id', 'amount', 'created_at')
    .orderBy([
      { column: 'created_at', order: 'asc' },
      { column: 'id', order: 'asc' },
    ])
    .limit(limit);
}

export async function boardRewards(db: Db, scope: BoardScope, range: TimeRange, limit: number): Promise<BoardRewardRow[]> {
  return (await boardRewardsQuery(db, scope, range, limit)) as BoardRewardRow[];
}

export interface ConsumptionTotalsRow {
  id: number;
  total_amount: number | string;
  reward_count: number | string;
}

/**
 * The platform's all-time board is the viewers' consumption totals (kept in each reward's own
 * transaction): the `limit` largest over idx_audience_total_amount.
 */
export function topConsumptionQuery(db: Db, limit: number): Knex.QueryBuilder {
  return withIndex(db, 'audience', 'idx_audience_total_amount')
    .select('id', 'total_amount', 'reward_count')
    .where('total_amount', '>', 0)
    .orderBy([
      { column: 'total_amount', order: 'desc' },
      { column: 'id', order: 'asc' },
    ])
    .limit(limit);
}

export async function topConsumption(db: Db, limit: number): Promise<ConsumptionTotalsRow[]> {
  return (await topConsumptionQuery(db, limit)) as ConsumptionTotalsRow[];
}

/** Viewers whose consumption total is exactly `totalFen` (the ties at the last place), at most `limit`. */
export function consumptionTiedQuery(db: Db, totalFen: number, limit: number): Knex.QueryBuilder {
  // Without the hint MariaDB may walk the primary key for the ORDER BY id instead.
  return withIndex(db, 'audience', 'idx_audience_total_amount')
    .select('id', 'total_amount', 'reward_count')
    .where('total_amount', totalFen)
    .orderBy('id')
    .limit(limit);
}

export async function consumptionTied(db: Db, totalFen: number, limit: number): Promise<ConsumptionTotalsRow[]> {
  return (await consumptionTiedQuery(db, totalFen, limit)) as ConsumptionTotalsRow[];
}

/** Each viewer's first reward ever, over idx_recharge_audience_time. */
export function firstRewardTimesQuery(db: Db, audienceIds: readonly number[]): Knex.QueryBuilder {
  return notRefunded(db('recharge'))
    .select('audience_id')
    .min({ first_at: 'created_at' })
    .whereIn('audience_id', audienceIds)
    .groupBy('audience_id');
}

export async function firstRewardTimes(db: Db, audienceIds: readonly number[]): Promise<Array<{ audience_id: number; first_at: string }>> {
  if (audienceIds.length === 0) return [];
  return (await firstRewardTimesQuery(db, audienceIds)) as Array<{ audience_id: number; first_at: string }>;
}

export interface ViewerNameRow {
  id: number;
  nickname: string;
  anonymous: boolean | number;
}

/** Names and the anonymous flag, read at answer time so a changed flag shows on the next load. */
export async function viewerNames(db: Db, audienceIds: readonly number[]): Promise<ViewerNameRow[]> {
  if (audienceIds.length === 0) return [];
  return db<ViewerNameRow>('audience').select('id', 'nickname', 'anonymous').whereIn('id', audienceIds);
}
