import { dialectOfDb, insertedId, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { chunks } from '../../../shared/chunks';

/**
 * The settled rewards among these. `locking` (MySQL): a locking read, which sees every settlement
 * committed so far whatever the transaction's snapshot — taken under the anchors' balance locks, it
 * sees every settlement of their rewards that could race this one.
 */
export async function settledRechargeIds(
  db: Db,
  rechargeIds: readonly number[],
  options: { locking?: boolean } = {},
): Promise<Set<number>> {
  const found = new Set<number>();
  for (const part of chunks(rechargeIds)) {
    const query = db('settlement_detail').select('recharge_id').whereIn('recharge_id', part);
    if (options.locking && dialectOfDb(db) === 'mysql') void query.forShare();
    const rows = (await query) as Array<{ recharge_id: number }>;
    for (const row of rows) found.add(row.recharge_id);
  }
  return found;
}

export interface SettlementTotals {
  count: number;
  amount: number;
  anchorAmount: number;
  platformAmount: number;
}

/**
 * The settlement row of (batch, anchor): created, or — when the same batch id brings more records
 * for the anchor — added to. Returns its id and whether it is new.
 */
export async function upsertSettlement(
  trx: Db,
  args: { batchId: string; anchorId: number; totals: SettlementTotals; now: Date },
): Promise<{ id: number; created: boolean }> {
  const existing = (await trx('settlement').select('id').where({ batch_id: args.batchId, anchor_id: args.anchorId }).first()) as
    { id: number } | undefined;
  const { totals } = args;
  if (existing) {
    await trx('settlement')
      .where({ id: existing.id })
      .update({
        record_count: trx.raw('record_count + ?', [totals.count]),
        total_amount: trx.raw('total_amount + ?', [totals.amount]),
        anchor_amount: trx.raw('anchor_amount + ?', [totals.anchorAmount]),
        platform_amount: trx.raw('platform_amount + ?', [totals.platformAmount]),
      });
    return { id: existing.id, created: false };
  }
  const id = insertedId(
    await trx('settlement').insert({
      batch_id: args.batchId,
      anchor_id: args.anchorId,
      record_count: totals.count,
      total_amount: totals.amount,
      anchor_amount: totals.anchorAmount,
      platform_amount: totals.platformAmount,
      created_at: toDbTime(args.now),
    }),
  );
  return { id, created: true };
}

export interface NewDetail {
  rechargeId: number;
  traceId: string;
  anchorId: number;
  liveRoomId: number;
  audienceId: number;
  amount: number;
  rateBp: number;
  anchorAmount: number;
  platformAmount: number;
  rechargeCreatedAt: Date;
}

/** Detail rows of one settlement, one per reward (UNIQUE recharge_id: a reward is settled once). */
export async function insertDetails(trx: Db, settlementId: number, details: readonly NewDetail[], now: Date): Promise<void> {
  const at = toDbTime(now);
  for (const part of chunks(details)) {
    await trx('settlement_detail').insert(
      part.map((d) => ({
        settlement_id: settlementId,
        recharge_id: d.rechargeId,
        trace_id: d.traceId,
        anchor_id: d.anchorId,
        live_room_id: d.liveRoomId,
        audience_id: d.audienceId,
        amount: d.amount,
        rate_bp: d.rateBp,
        anchor_amount: d.anchorAmount,
        platform_amount: d.platformAmount,
        recharge_created_at: toDbTime(d.rechargeCreatedAt),
        created_at: at,
      })),
    );
  }
}

export async function smallestDetailId(trx: Db, settlementId: number, rechargeIds: readonly number[]): Promise<number> {
  const row = (await trx('settlement_detail')
    .where('settlement_id', settlementId)
    .whereIn('recharge_id', rechargeIds.slice(0, 500))
    .min({ id: 'id' })
    .first()) as { id: number };
  return row.id;
}

export interface SettledTotalsRow {
  anchor_id: number;
  n: number | string;
  amount: number | string;
  anchor_amount: number | string;
  platform_amount: number | string;
}

/** What finance has settled per anchor among rewards with id <= upTo (for reconciliation against DB1). */
export async function settledTotalsByAnchor(db: Db, upToRechargeId: number): Promise<SettledTotalsRow[]> {
  return db<SettledTotalsRow>('settlement_detail')
    .select('anchor_id')
    .where('recharge_id', '<=', upToRechargeId)
    .count({ n: '*' })
    .sum({ amount: 'amount', anchor_amount: 'anchor_amount', platform_amount: 'platform_amount' })
    .groupBy('anchor_id')
    .orderBy('anchor_id') as unknown as Promise<SettledTotalsRow[]>;
}

export interface DetailRow {
  id: number;
  settlement_id: number;
  recharge_id: number;
  trace_id: string;
  anchor_id: number;
  live_room_id: number;
  audience_id: number;
  amount: number;
  rate_bp: number;
  anchor_amount: number;
  platform_amount: number;
  recharge_created_at: string;
  created_at: string;
}

export const DETAIL_COLUMNS = [
  'id',
  'settlement_id',
  'recharge_id',
  'trace_id',
  'anchor_id',
  'live_room_id',
  'audience_id',
  'amount',
  'rate_bp',
  'anchor_amount',
  'platform_amount',
  'recharge_created_at',
  'created_at',
] as const;

/** Details with recharge id > afterId (<= upTo, of one anchor, when given), in recharge id order, at most `limit`. */
export async function detailsAfter(
  db: Db,
  args: { anchorId?: number; afterId: number; upToId?: number; limit: number },
): Promise<DetailRow[]> {
  const query = db<DetailRow>('settlement_detail')
    .select(...DETAIL_COLUMNS)
    .where('recharge_id', '>', args.afterId)
    .orderBy('recharge_id')
    .limit(args.limit);
  if (args.anchorId !== undefined) void query.andWhere('anchor_id', args.anchorId);
  if (args.upToId !== undefined) void query.andWhere('recharge_id', '<=', args.upToId);
  return query;
}

export async function detailsOf(db: Db, rechargeIds: readonly number[]): Promise<DetailRow[]> {
  const rows: DetailRow[] = [];
  for (const part of chunks(rechargeIds))
    rows.push(
      ...(await db<DetailRow>('settlement_detail')
        .select(...DETAIL_COLUMNS)
        .whereIn('recharge_id', part)),
    );
  return rows;
}

/** Moves a detail to settlement_detail_void and takes it out of its settlement's totals; returns the void row's id. */
export async function voidDetail(trx: Db, detail: DetailRow, args: { reason: string; now: Date }): Promise<number> {
  const { id, ...copy } = detail;
  const voidId = insertedId(
    await trx('settlement_detail_void').insert({
      ...copy,
      detail_id: id,
      reason: args.reason.slice(0, 255),
      voided_at: toDbTime(args.now),
    }),
  );
  await trx('settlement_detail').where({ id }).delete();
  await trx('settlement')
    .where({ id: detail.settlement_id })
    .update({
      record_count: trx.raw('record_count - 1'),
      total_amount: trx.raw('total_amount - ?', [detail.amount]),
      anchor_amount: trx.raw('anchor_amount - ?', [detail.anchor_amount]),
      platform_amount: trx.raw('platform_amount - ?', [detail.platform_amount]),
    });
  return voidId;
}
