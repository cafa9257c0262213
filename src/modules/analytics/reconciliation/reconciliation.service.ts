import type { Logger } from '../../../shared/logger';
import { formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import type { AnchorServiceClient, RealtimeAuditDto } from '../../anchor/contract';
import type { AudienceServiceClient, RewardTotals } from '../../audience/contract';
import type { FinanceServiceClient } from '../../finance/contract';

/** Rewards younger than this are left to finish their own notification and sync before they are judged. */
const SETTLE_MS = 10_000;
const PAGE = 2000;

export interface TotalsView {
  count: number;
  amount: string;
}

export interface ReconciliationReport {
  /** Rewards with id <= this were compared. */
  upToRechargeId: number;
  checkedAt: string;
  realtime: {
    rooms: number;
    drifted: Array<{ liveRoomId: number; anchorId: number; expected: TotalsView; counted: TotalsView; rowMatchesJournal: boolean }>;
    repaired: Array<{ liveRoomId: number; applied: number; removed: number }>;
    /** Rooms still drifting after the repair (0 after a successful repair). */
    remaining: number;
  };
  finance: {
    anchors: number;
    /** Anchors whose settled rewards are not between "confirmed synced" and "synced or in flight". */
    drifted: Array<{ anchorId: number; synced: TotalsView; inFlight: TotalsView; settled: TotalsView }>;
    balanceMismatches: Array<{ anchorId: number; settledAnchorShare: string; totalIncome: string; available: string; frozen: string; withdrawn: string }>;
  };
  clean: boolean;
}

const view = (t: RewardTotals): TotalsView => ({ count: t.count, amount: formatFen(t.amountFen) });
const ZERO: RewardTotals = { count: 0, amountFen: 0 };

function sameTotals(a: RewardTotals, b: RewardTotals): boolean {
  return a.count === b.count && a.amountFen === b.amountFen;
}

/**
 * Compares what each module has counted with the reward table (the source of truth): the anchor
 * module's realtime figures per room, and finance's settlements and balances per anchor. With
 * `repair`, rooms that drifted are made exact again through the anchor module's own idempotent paths.
 */
export function createReconciliation(deps: {
  audience: AudienceServiceClient;
  anchor: AnchorServiceClient;
  finance: FinanceServiceClient;
  clock: Clock;
  logger: Logger;
}) {
  const { audience, anchor, finance, clock, logger } = deps;

  async function realtimeDrift(upTo: number): Promise<{ rooms: number; drifted: Array<{ audit: RealtimeAuditDto; expected: RewardTotals }> }> {
    const [truth, audits] = await Promise.all([audience.rewardTotalsByRoom(upTo), anchor.realtimeAudit(upTo)]);
    const expected = new Map(truth.map((t) => [t.liveRoomId, t]));
    const drifted = audits
      .map((audit) => ({ audit, expected: expected.get(audit.liveRoomId) ?? ZERO }))
      .filter(({ audit, expected: e }) => !audit.rowMatchesJournal || !sameTotals(audit.counted, e));
    return { rooms: audits.length, drifted };
  }

  async function repairRoom(liveRoomId: number, upTo: number): Promise<{ liveRoomId: number; applied: number; removed: number }> {
    let applied = 0;
    let removed = 0;
    let afterId = 0;
    for (;;) {
      const page = await audience.roomRewards(liveRoomId, { afterId, upToRechargeId: upTo, limit: PAGE });
      const toId = page.length === PAGE ? (page[page.length - 1]?.rechargeId ?? upTo) : upTo;
      const result = await anchor.repairRealtimeRange(liveRoomId, { afterId, toId }, page);
      applied += result.applied;
      removed += result.removed;
      if (toId >= upTo) break;
      afterId = toId;
    }
    await anchor.recountRealtime(liveRoomId);
    return { liveRoomId, applied, removed };
  }

  async function financeDrift(upTo: number): Promise<ReconciliationReport['finance']> {
    const [sync, settled, mismatches] = await Promise.all([audience.syncTotalsByAnchor(upTo), finance.settledTotalsByAnchor(upTo), finance.balanceMismatches()]);
    const settledBy = new Map(settled.map((s) => [s.anchorId, s]));
    const anchors = new Set([...sync.map((s) => s.anchorId), ...settled.map((s) => s.anchorId)]);
    const drifted: ReconciliationReport['finance']['drifted'] = [];
    for (const anchorId of [...anchors].sort((a, b) => a - b)) {
      const s = sync.find((x) => x.anchorId === anchorId) ?? { synced: ZERO, inFlight: ZERO };
      const done = settledBy.get(anchorId) ?? { count: 0, amountFen: 0 };
      const within = (key: 'count' | 'amountFen') => s.synced[key] <= done[key] && done[key] <= s.synced[key] + s.inFlight[key];
      if (!within('count') || !within('amountFen')) drifted.push({ anchorId, synced: view(s.synced), inFlight: view(s.inFlight), settled: view(done) });
    }
    return {
      anchors: anchors.size,
      drifted,
      balanceMismatches: mismatches.map((m) => ({
        anchorId: m.anchorId,
        settledAnchorShare: formatFen(m.settledAnchorFen),
        totalIncome: formatFen(m.totalIncomeFen),
        available: formatFen(m.availableFen),
        frozen: formatFen(m.frozenFen),
        withdrawn: formatFen(m.withdrawnFen),
      })),
    };
  }

  return {
    async reconcile(options: { repair: boolean }): Promise<ReconciliationReport> {
      const now = clock();
      const upTo = await audience.maxRechargeId(new Date(now.getTime() - SETTLE_MS).toISOString());
      const realtime = await realtimeDrift(upTo);
      const repaired = [];
      let remaining = realtime.drifted.length;
      if (options.repair && realtime.drifted.length > 0) {
        for (const { audit } of realtime.drifted) repaired.push(await repairRoom(audit.liveRoomId, upTo));
        remaining = (await realtimeDrift(upTo)).drifted.length;
      }
      const financeReport = await financeDrift(upTo);
      const report: ReconciliationReport = {
        upToRechargeId: upTo,
        checkedAt: now.toISOString(),
        realtime: {
          rooms: realtime.rooms,
          drifted: realtime.drifted.map(({ audit, expected }) => ({
            liveRoomId: audit.liveRoomId,
            anchorId: audit.anchorId,
            expected: view(expected),
            counted: view(audit.counted),
            rowMatchesJournal: audit.rowMatchesJournal,
          })),
          repaired,
          remaining,
        },
        finance: financeReport,
        clean: remaining === 0 && financeReport.drifted.length === 0 && financeReport.balanceMismatches.length === 0,
      };
      const summary = { upTo, driftedRooms: realtime.drifted.length, repairedRooms: repaired.length, remaining, financeDrift: financeReport.drifted.length, balanceMismatches: financeReport.balanceMismatches.length };
      if (report.clean && realtime.drifted.length === 0) logger.info(summary, 'reconciliation clean');
      else logger.warn(summary, 'reconciliation found drift');
      return report;
    },
  };
}

export type Reconciliation = ReturnType<typeof createReconciliation>;
