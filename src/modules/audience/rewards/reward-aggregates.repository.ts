import type { Knex } from 'knex';
import type { Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { notRefunded, notRefundedSql } from './refund-filter';

/**
 * GROUP BY queries over `recharge` for the anchor insights: each reads one index range and returns
 * only the aggregated rows (at most `limit` of them). Which index serves which query is said in
 * migration 013. Each leaves refunded rewards out (an anti-join on `recharge_refund`, refund-filter.ts).
 */

type Num = number | string | null;

/** `[from, to)` as Date bounds; null leaves a side open. */
export interface TimeBounds {
  from: Date | null;
  to: Date | null;
}

function within<Q extends Knex.QueryBuilder>(query: Q, bounds: TimeBounds, column = 'created_at'): Q {
  if (bounds.from) void query.where(column, '>=', toDbTime(bounds.from));
  if (bounds.to) void query.where(column, '<', toDbTime(bounds.to));
  return query;
}

export async function anchorStats(db: Db, anchorId: number): Promise<{ n: Num; s: Num; supporters: Num }> {
  const row = (await notRefunded(db('recharge'))
    .where('anchor_id', anchorId)
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .countDistinct({ supporters: 'audience_id' })
    .first()) as { n: Num; s: Num; supporters: Num } | undefined;
  return row ?? { n: 0, s: 0, supporters: 0 };
}

export interface SupporterRow {
  audience_id: number;
  total_amount: Num;
  reward_count: Num;
}

/** Largest amount first, ties to the earlier first reward, then the smaller id (`first_at` is each group's MIN(created_at)). */
const RANKED = (id: string) => [
  { column: 'total_amount', order: 'desc' as const },
  { column: 'first_at', order: 'asc' as const },
  { column: id, order: 'asc' as const },
];

/** The viewers who gave most to one anchor or one room within the bounds. */
export async function topSupporters(
  db: Db,
  args: { of: { anchorId: number } | { liveRoomId: number }; bounds: TimeBounds; limit: number },
): Promise<SupporterRow[]> {
  const [column, id] = 'anchorId' in args.of ? ['anchor_id', args.of.anchorId] : ['live_room_id', args.of.liveRoomId];
  return within(
    notRefunded(db('recharge'))
      .select('audience_id')
      .sum({ total_amount: 'amount' })
      .count({ reward_count: '*' })
      .min({ first_at: 'created_at' })
      .where(column, id)
      .groupBy('audience_id'),
    args.bounds,
  )
    .orderBy(RANKED('audience_id'))
    .limit(args.limit) as unknown as Promise<SupporterRow[]>;
}

export interface ViewerNameRow {
  id: number;
  nickname: string;
  anonymous: number | boolean;
}

/**
 * Names of the listed viewers, by primary key. A second statement rather than a join: joined to a
 * small `audience` table the optimizer may scan it whole and probe the grouped rows.
 */
export async function viewerNames(db: Db, ids: readonly number[]): Promise<ViewerNameRow[]> {
  if (ids.length === 0) return [];
  return db<ViewerNameRow>('audience').select('id', 'nickname', 'anonymous').whereIn('id', ids);
}

export interface AnchorEarningsRow {
  anchor_id: number;
  total_amount: Num;
  reward_count: Num;
}

/** Anchors by earnings within the bounds, a page at a time. */
export async function anchorsByEarnings(db: Db, args: { bounds: TimeBounds; offset: number; limit: number }): Promise<AnchorEarningsRow[]> {
  return within(
    notRefunded(db('recharge'))
      .select('anchor_id')
      .sum({ total_amount: 'amount' })
      .count({ reward_count: '*' })
      .min({ first_at: 'created_at' })
      .groupBy('anchor_id'),
    args.bounds,
  )
    .orderBy(RANKED('anchor_id'))
    .offset(args.offset)
    .limit(args.limit) as unknown as Promise<AnchorEarningsRow[]>;
}

/**
 * An anchor's supporters within the bounds, counted and summed, split into new ones (no reward to
 * this anchor before `from`) and returning ones. Per supporter one probe of the (anchor, viewer)
 * index for an earlier reward; without `from` every supporter is new.
 */
export async function supporterSplit(
  db: Db,
  anchorId: number,
  bounds: TimeBounds,
): Promise<{ supporters: Num; s: Num; newcomers: Num; newcomers_s: Num }> {
  const perSupporter = within(
    notRefunded(db('recharge')).select('audience_id').sum({ total_amount: 'amount' }).where('anchor_id', anchorId).groupBy('audience_id'),
    bounds,
  );
  const earlier = notRefundedSql('p');
  const isNew = bounds.from
    ? db.raw(
        `CASE WHEN EXISTS (SELECT 1 FROM recharge p ${earlier.join} WHERE p.anchor_id = ? AND p.audience_id = s.audience_id AND p.created_at < ? AND ${earlier.where}) THEN 0 ELSE 1 END`,
        [anchorId, toDbTime(bounds.from)],
      )
    : db.raw('1');
  const flagged = db.select('s.total_amount', db.raw('? AS is_new', [isNew])).from(perSupporter.as('s'));
  const row = (await db
    .from(flagged.as('f'))
    .select(
      db.raw('COUNT(*) AS supporters'),
      db.raw('COALESCE(SUM(f.total_amount), 0) AS s'),
      db.raw('COALESCE(SUM(f.is_new), 0) AS newcomers'),
      db.raw('COALESCE(SUM(CASE WHEN f.is_new = 1 THEN f.total_amount ELSE 0 END), 0) AS newcomers_s'),
    )
    .first()) as { supporters: Num; s: Num; newcomers: Num; newcomers_s: Num } | undefined;
  return row ?? { supporters: 0, s: 0, newcomers: 0, newcomers_s: 0 };
}

/** What the `count` largest supporters of an anchor gave within the bounds, summed in the database. */
export async function topSupportersAmount(db: Db, anchorId: number, bounds: TimeBounds, count: number): Promise<Num> {
  const largest = within(
    notRefunded(db('recharge')).select('audience_id').sum({ total_amount: 'amount' }).where('anchor_id', anchorId).groupBy('audience_id'),
    bounds,
  )
    .orderBy('total_amount', 'desc')
    .limit(count);
  const row = (await db.from(largest.as('l')).select(db.raw('COALESCE(SUM(l.total_amount), 0) AS s')).first()) as { s: Num } | undefined;
  return row?.s ?? 0;
}
