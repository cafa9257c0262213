import type { Logger } from '../../../shared/logger';
import { formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import type { AnchorServiceClient } from '../../anchor/contract';
import type { AudienceServiceClient } from '../../audience/contract';
import type { FinanceServiceClient } from '../../finance/contract';
import { createFinanceReconciliation, type FinanceDrift, type FinanceRepair } from './finance-reconciliation';
import { createRealtimeReconciliation, type RoomRepair } from './realtime-reconciliation';
import { view, type TotalsView } from './totals';

/** Rewards younger than this are left to finish their own notification and sync before they are judged. */
const SETTLE_MS = 10_000;

export type { TotalsView } from './totals';

export interface ReconciliationReport {
  /**
   * Rewards with id <= this (created 10 s ago or more) were compared by totals; every id counted or
   * settled above the newest reward was looked up. Ids in between are judged by the next run.
   */
  upToRechargeId: number;
  checkedAt: string;
  realtime: {
    rooms: number;
    drifted: Array<{ liveRoomId: number; anchorId: number; expected: TotalsView; counted: TotalsView; rowMatchesJournal: boolean }>;
    /** Counted rewards above the newest reward that are no reward of that room with that amount. */
    phantoms: Array<{ rechargeId: number; liveRoomId: number; amount: string }>;
    repaired: RoomRepair[];
    /** Journal lines folded into their rooms' floors (repair runs only): the journal stays bounded. */
    compacted: { rooms: number; rows: number };
    /** Rooms still drifting after the repair (0 after a successful repair). */
    remaining: number;
  };
  finance: {
    anchors: number;
    drifted: Array<{ anchorId: number; synced: TotalsView; inFlight: TotalsView; quarantined: TotalsView; settled: TotalsView }>;
    /** Settlements above the newest reward that are not a stored reward as settled. */
    phantoms: Array<{ rechargeId: number; anchorId: number; amount: string }>;
    balanceMismatches: Array<{
      anchorId: number;
      settledAnchorShare: string;
      totalIncome: string;
      available: string;
      frozen: string;
      withdrawn: string;
    }>;
    /**
     * Rewards the sync quarantined because finance kept refusing them: not settled, waiting for an
     * operator (`sync quarantine list`, `sync quarantine retry`). All counted, the first 100 listed
     * with finance's last refusal. While any remain the report is not clean.
     */
    quarantined: {
      count: number;
      amount: string;
      rewards: Array<{
        rechargeId: number;
        anchorId: number;
        amount: string;
        refusals: number;
        lastRefusal: string | null;
        quarantinedAt: string | null;
      }>;
    };
    repaired: FinanceRepair | null;
    /** Anchors still drifting after the repair. Balance mismatches are never repaired automatically: a human decides about money. */
    remaining: number;
  };
  clean: boolean;
}

function financeView(
  drift: FinanceDrift,
): Pick<ReconciliationReport['finance'], 'anchors' | 'drifted' | 'phantoms' | 'balanceMismatches' | 'quarantined'> {
  return {
    anchors: drift.anchors,
    drifted: drift.drifted.map((d) => ({
      anchorId: d.anchorId,
      synced: view(d.synced),
      inFlight: view(d.inFlight),
      quarantined: view(d.quarantined),
      settled: view(d.settled),
    })),
    phantoms: drift.phantoms.map((p) => ({ rechargeId: p.rechargeId, anchorId: p.anchorId, amount: formatFen(p.amountFen) })),
    balanceMismatches: drift.balanceMismatches.map((m) => ({
      anchorId: m.anchorId,
      settledAnchorShare: formatFen(m.settledAnchorFen),
      totalIncome: formatFen(m.totalIncomeFen),
      available: formatFen(m.availableFen),
      frozen: formatFen(m.frozenFen),
      withdrawn: formatFen(m.withdrawnFen),
    })),
    quarantined: {
      count: drift.quarantine.total.count,
      amount: formatFen(drift.quarantine.total.amountFen),
      rewards: drift.quarantine.rewards.map((r) => ({
        rechargeId: r.rechargeId,
        anchorId: r.anchorId,
        amount: formatFen(r.amountFen),
        refusals: r.refusals,
        lastRefusal: r.lastRefusal,
        quarantinedAt: r.quarantinedAt,
      })),
    },
  };
}

/**
 * Compares what each module has counted with the reward table (the source of truth): the anchor
 * module's realtime figures per room, and finance's settlements and balances per anchor — by
 * totals up to a bound a few seconds old, and id by id above the newest reward. With `repair`,
 * drifted rooms and anchors are made exact through the modules' own checked paths, and rooms found
 * exact have their journal pruned.
 */
export function createReconciliation(deps: {
  audience: AudienceServiceClient;
  anchor: AnchorServiceClient;
  finance: FinanceServiceClient;
  clock: Clock;
  logger: Logger;
}) {
  const { audience, clock, logger } = deps;
  const realtime = createRealtimeReconciliation(deps);
  const finance = createFinanceReconciliation(deps);

  async function reconcileRealtime(upTo: number, repair: boolean): Promise<ReconciliationReport['realtime']> {
    const drift = await realtime.drift(upTo);
    const repaired: RoomRepair[] = [];
    let remaining = drift.drifted.length;
    let compacted = { rooms: 0, rows: 0 };
    if (repair) {
      for (const { audit } of drift.drifted) repaired.push(await realtime.repairRoom(audit, upTo, drift.phantoms));
      const after = drift.drifted.length > 0 ? await realtime.drift(upTo) : drift;
      remaining = after.drifted.length;
      const stillDrifted = new Set(after.drifted.map((d) => d.audit.liveRoomId));
      compacted = await realtime.compact(
        after.audits.filter((a) => !stillDrifted.has(a.liveRoomId)),
        upTo,
      );
    }
    return {
      rooms: drift.rooms,
      drifted: drift.drifted.map(({ audit, expected }) => ({
        liveRoomId: audit.liveRoomId,
        anchorId: audit.anchorId,
        expected: view(expected),
        counted: view(audit.counted),
        rowMatchesJournal: audit.rowMatchesJournal,
      })),
      phantoms: drift.phantoms.map((p) => ({ rechargeId: p.rechargeId, liveRoomId: p.liveRoomId, amount: formatFen(p.amountFen) })),
      repaired,
      compacted,
      remaining,
    };
  }

  async function reconcileFinance(upTo: number, repair: boolean): Promise<ReconciliationReport['finance']> {
    const drift = await finance.drift(upTo);
    const needsRepair = drift.drifted.length > 0 || drift.phantoms.length > 0;
    if (!repair || !needsRepair) return { ...financeView(drift), repaired: null, remaining: drift.drifted.length + drift.phantoms.length };
    const repaired = await finance.repair(drift, upTo);
    const after = await finance.drift(upTo);
    return { ...financeView(drift), repaired, remaining: after.drifted.length + after.phantoms.length };
  }

  return {
    async reconcile(options: { repair: boolean }): Promise<ReconciliationReport> {
      const now = clock();
      const upTo = await audience.maxRechargeId(new Date(now.getTime() - SETTLE_MS).toISOString());
      const realtimeReport = await reconcileRealtime(upTo, options.repair);
      const financeReport = await reconcileFinance(upTo, options.repair);
      const report: ReconciliationReport = {
        upToRechargeId: upTo,
        checkedAt: now.toISOString(),
        realtime: realtimeReport,
        finance: financeReport,
        clean:
          realtimeReport.remaining === 0 &&
          financeReport.remaining === 0 &&
          financeReport.balanceMismatches.length === 0 &&
          financeReport.quarantined.count === 0,
      };
      const summary = {
        upTo,
        driftedRooms: realtimeReport.drifted.length,
        realtimePhantoms: realtimeReport.phantoms.length,
        repairedRooms: realtimeReport.repaired.length,
        compacted: realtimeReport.compacted,
        remainingRooms: realtimeReport.remaining,
        financeDrift: financeReport.drifted.length,
        financePhantoms: financeReport.phantoms.length,
        voided: financeReport.repaired?.voided.length ?? 0,
        remainingAnchors: financeReport.remaining,
        balanceMismatches: financeReport.balanceMismatches.length,
        quarantined: financeReport.quarantined.count,
      };
      if (report.clean && realtimeReport.drifted.length === 0 && financeReport.drifted.length === 0 && financeReport.phantoms.length === 0)
        logger.info(summary, 'reconciliation clean');
      else logger.warn(summary, 'reconciliation found drift');
      return report;
    },
  };
}

export type Reconciliation = ReturnType<typeof createReconciliation>;
