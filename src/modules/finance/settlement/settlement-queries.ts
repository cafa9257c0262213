import type { Db } from '../../../shared/db/knex';
import { isoFromDb, toDbTime } from '../../../shared/db/time';
import { localMidnight } from '../../../shared/time-zone';
import type { Page, SettledDayTotalsDto } from '../contract';
import { DETAIL_COLUMNS, type DetailRow } from './settlement.repository';

interface SettlementRow {
  id: number;
  batch_id: string;
  anchor_id: number;
  record_count: number;
  total_amount: number | string;
  anchor_amount: number | string;
  platform_amount: number | string;
  created_at: string;
}

export interface SettlementDetailView {
  rechargeId: number;
  traceId: string;
  liveRoomId: number;
  audienceId: number;
  amountFen: number;
  rateBp: number;
  anchorFen: number;
  platformFen: number;
  rewardCreatedAt: string;
}

export interface SettlementView {
  settlementId: number;
  batchId: string;
  anchorId: number;
  recordCount: number;
  totalFen: number;
  anchorFen: number;
  platformFen: number;
  createdAt: string;
  details?: SettlementDetailView[];
}

export interface SettlementFilter {
  anchorId?: number | undefined;
  from?: string | undefined;
  to?: string | undefined;
  details: boolean;
  page: number;
  pageSize: number;
}

/** A calendar date `YYYY-MM-DD` in the zone as its span `[start, end)` of UTC instants. */
export function daySpan(date: string, timeZone: string): { start: Date; end: Date } {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return { start: localMidnight(year, month, day, timeZone), end: localMidnight(year, month, day + 1, timeZone) };
}

/**
 * What finance shows operations about settlement: the settlements (one per batch and anchor) with
 * their details on request, and a day's settled totals per anchor to hold against DB1.
 */
export function createSettlementQueries(deps: { db: Db; timeZone: string }) {
  const { db } = deps;

  function filtered(filter: SettlementFilter) {
    const query = db('settlement');
    if (filter.anchorId !== undefined) void query.where({ anchor_id: filter.anchorId });
    if (filter.from !== undefined) void query.where('created_at', '>=', toDbTime(new Date(filter.from)));
    if (filter.to !== undefined) void query.where('created_at', '<', toDbTime(new Date(filter.to)));
    return query;
  }

  async function detailsOf(settlementIds: readonly number[]): Promise<Map<number, SettlementDetailView[]>> {
    const out = new Map<number, SettlementDetailView[]>();
    if (settlementIds.length === 0) return out;
    const rows = (await db('settlement_detail')
      .select(...DETAIL_COLUMNS)
      .whereIn('settlement_id', [...settlementIds])
      .orderBy('recharge_id')) as DetailRow[];
    for (const row of rows) {
      const list = out.get(row.settlement_id) ?? [];
      list.push({
        rechargeId: row.recharge_id,
        traceId: row.trace_id,
        liveRoomId: row.live_room_id,
        audienceId: row.audience_id,
        amountFen: Number(row.amount),
        rateBp: row.rate_bp,
        anchorFen: Number(row.anchor_amount),
        platformFen: Number(row.platform_amount),
        rewardCreatedAt: isoFromDb(row.recharge_created_at),
      });
      out.set(row.settlement_id, list);
    }
    return out;
  }

  return {
    /** Settlements newest first, filtered by anchor and settlement time `[from, to)`; each with its details when asked. */
    async list(filter: SettlementFilter): Promise<Page<SettlementView>> {
      const [rows, count] = await Promise.all([
        filtered(filter)
          .select('id', 'batch_id', 'anchor_id', 'record_count', 'total_amount', 'anchor_amount', 'platform_amount', 'created_at')
          .orderBy([
            { column: 'created_at', order: 'desc' },
            { column: 'id', order: 'desc' },
          ])
          .limit(filter.pageSize)
          .offset((filter.page - 1) * filter.pageSize) as Promise<SettlementRow[]>,
        filtered(filter).count({ n: '*' }).first(),
      ]);
      const details = filter.details ? await detailsOf(rows.map((r) => r.id)) : null;
      const items = rows.map((row): SettlementView => {
        const view: SettlementView = {
          settlementId: row.id,
          batchId: row.batch_id,
          anchorId: row.anchor_id,
          recordCount: row.record_count,
          totalFen: Number(row.total_amount),
          anchorFen: Number(row.anchor_amount),
          platformFen: Number(row.platform_amount),
          createdAt: isoFromDb(row.created_at),
        };
        if (details) view.details = details.get(row.id) ?? [];
        return view;
      });
      return { items, page: filter.page, pageSize: filter.pageSize, total: Number(count?.['n'] ?? 0) };
    },

    /**
     * Per anchor, the rewards created in `[from, to)` that finance has settled: count, amount and both
     * shares. Keyed by the reward's time, not the settlement's, so it holds still against DB1's reward
     * table however late the sync ran.
     */
    async settledBetween(from: Date, to: Date): Promise<SettledDayTotalsDto[]> {
      const rows = (await db('settlement_detail')
        .select('anchor_id')
        .count({ n: '*' })
        .sum({ s: 'amount', a: 'anchor_amount', p: 'platform_amount' })
        .where('recharge_created_at', '>=', toDbTime(from))
        .where('recharge_created_at', '<', toDbTime(to))
        .groupBy('anchor_id')
        .orderBy('anchor_id')) as Array<{
        anchor_id: number;
        n: number | string;
        s: number | string;
        a: number | string;
        p: number | string;
      }>;
      return rows.map((r) => ({
        anchorId: r.anchor_id,
        count: Number(r.n),
        amountFen: Number(r.s),
        anchorFen: Number(r.a),
        platformFen: Number(r.p),
      }));
    },
  };
}

export type SettlementQueries = ReturnType<typeof createSettlementQueries>;
