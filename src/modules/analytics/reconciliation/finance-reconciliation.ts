import { randomBytes } from 'node:crypto';
import type { AudienceServiceClient, QuarantineDto, RewardTotals, StoredRewardDto, SyncedRewardDto } from '../../audience/contract';
import { STORED_REWARDS_MAX_IDS } from '../../audience/contract';
import type { BalanceMismatchDto, FinanceServiceClient, SettledRecordDto, SettlementRecord } from '../../finance/contract';
import { ZERO } from './totals';

const PAGE = 1000;
/** Quarantined rewards a report lists one by one (all of them are counted). */
const QUARANTINE_LISTED = 100;

export interface AnchorDrift {
  anchorId: number;
  synced: RewardTotals;
  inFlight: RewardTotals;
  quarantined: RewardTotals;
  settled: RewardTotals;
}

export interface FinanceDrift {
  anchors: number;
  /** Anchors whose settled rewards are not between "confirmed synced" and "synced or in flight". */
  drifted: AnchorDrift[];
  /** Settlements above the newest reward that are not a stored reward as settled. */
  phantoms: SettledRecordDto[];
  balanceMismatches: BalanceMismatchDto[];
  /** Rewards the sync quarantined: not settled (or settled before finance began refusing them), waiting for an operator. */
  quarantine: QuarantineDto;
}

export interface FinanceRepair {
  /** Rewards whose settlement finance took back (not a stored reward as settled). */
  voided: number[];
  /** SYNCED rewards finance had no settlement for, settled now. */
  settled: number;
  /**
   * SYNCED rewards without a settlement, left alone because their anchor's balance disagrees with
   * its settlements: the credit may be there without the detail, and settling again would pay twice.
   */
  held: number[];
}

/** True when the settlement says what the stored reward says. */
function settledAsStored(record: SettledRecordDto, stored: StoredRewardDto | undefined): boolean {
  return (
    stored !== undefined &&
    record.traceId === stored.traceId &&
    record.anchorId === stored.anchorId &&
    record.liveRoomId === stored.liveRoomId &&
    record.audienceId === stored.audienceId &&
    record.amountFen === stored.amountFen &&
    Date.parse(record.createdAt) === Date.parse(stored.createdAt)
  );
}

function toRecord(reward: StoredRewardDto): SettlementRecord {
  return {
    rechargeId: reward.rechargeId,
    traceId: reward.traceId,
    anchorId: reward.anchorId,
    liveRoomId: reward.liveRoomId,
    audienceId: reward.audienceId,
    amountFen: reward.amountFen,
    createdAt: reward.createdAt,
  };
}

/**
 * Finance against the reward table: per anchor, what is settled must lie between what the sync
 * confirmed and that plus what it has in flight or quarantined (finance may or may not hold those);
 * above the newest reward nothing may be settled at all. Quarantined rewards are listed with
 * finance's last refusal, so the report says why they are not settled. A
 * drifted anchor is compared reward by reward: a settlement that is not its stored reward is taken
 * back (finance checks again before it does), a SYNCED reward without one is settled.
 */
export function createFinanceReconciliation(deps: { audience: AudienceServiceClient; finance: FinanceServiceClient }) {
  const { audience, finance } = deps;

  async function phantomSettlements(): Promise<SettledRecordDto[]> {
    const newest = await audience.maxRechargeId();
    const phantoms: SettledRecordDto[] = [];
    for (let afterId = newest; ;) {
      const records = await finance.settledRecords({ afterId, limit: STORED_REWARDS_MAX_IDS });
      if (records.length === 0) break;
      const stored = new Map((await audience.storedRewards(records.map((r) => r.rechargeId))).map((r) => [r.rechargeId, r]));
      phantoms.push(...records.filter((r) => !settledAsStored(r, stored.get(r.rechargeId))));
      if (records.length < STORED_REWARDS_MAX_IDS) break;
      afterId = records[records.length - 1]?.rechargeId ?? afterId;
    }
    return phantoms;
  }

  /** Settlements of the anchor in (afterId, toId], all of them. */
  async function settledInRange(anchorId: number, afterId: number, toId: number): Promise<SettledRecordDto[]> {
    const all: SettledRecordDto[] = [];
    for (let from = afterId; ;) {
      const page = await finance.settledRecords({ anchorId, afterId: from, upToRechargeId: toId, limit: PAGE });
      all.push(...page);
      if (page.length < PAGE) return all;
      from = page[page.length - 1]?.rechargeId ?? toId;
    }
  }

  /** One anchor, reward by reward up to `upTo`: settlements to take back, and SYNCED rewards to settle. */
  async function compareAnchor(anchorId: number, upTo: number): Promise<{ wrong: number[]; missing: SyncedRewardDto[] }> {
    const wrong: number[] = [];
    const missing: SyncedRewardDto[] = [];
    for (let afterId = 0; afterId < upTo;) {
      const truth = await audience.anchorRewards(anchorId, { afterId, upToRechargeId: upTo, limit: PAGE });
      const toId = truth.length === PAGE ? (truth[truth.length - 1]?.rechargeId ?? upTo) : upTo;
      const settled = await settledInRange(anchorId, afterId, toId);
      const truthById = new Map(truth.map((r) => [r.rechargeId, r]));
      const settledById = new Map(settled.map((r) => [r.rechargeId, r]));
      const settledRight = (r: SyncedRewardDto) => {
        const record = settledById.get(r.rechargeId);
        return record !== undefined && settledAsStored(record, r);
      };
      // A refunded reward is right either way: settled and reversed by finance (refund pending), or never settled.
      const refunded = new Set(truth.filter((r) => r.refunded).map((r) => r.rechargeId));
      wrong.push(
        ...settled.filter((r) => !refunded.has(r.rechargeId) && !settledAsStored(r, truthById.get(r.rechargeId))).map((r) => r.rechargeId),
      );
      missing.push(...truth.filter((r) => r.syncStatus === 'SYNCED' && !r.refunded && !settledRight(r)));
      afterId = toId;
    }
    return { wrong, missing };
  }

  return {
    async drift(upTo: number): Promise<FinanceDrift> {
      const [sync, settled, balanceMismatches, phantoms, quarantine] = await Promise.all([
        audience.syncTotalsByAnchor(upTo),
        finance.settledTotalsByAnchor(upTo),
        finance.balanceMismatches(),
        phantomSettlements(),
        audience.quarantinedRewards(QUARANTINE_LISTED),
      ]);
      const settledBy = new Map(settled.map((s) => [s.anchorId, s]));
      const syncBy = new Map(sync.map((s) => [s.anchorId, s]));
      const anchors = new Set([...syncBy.keys(), ...settledBy.keys()]);
      const drifted: AnchorDrift[] = [];
      for (const anchorId of [...anchors].sort((a, b) => a - b)) {
        const s = syncBy.get(anchorId) ?? { synced: ZERO, inFlight: ZERO, quarantined: ZERO };
        const done = settledBy.get(anchorId) ?? ZERO;
        const within = (key: 'count' | 'amountFen') =>
          s.synced[key] <= done[key] && done[key] <= s.synced[key] + s.inFlight[key] + s.quarantined[key];
        if (!within('count') || !within('amountFen'))
          drifted.push({
            anchorId,
            synced: s.synced,
            inFlight: s.inFlight,
            quarantined: s.quarantined,
            settled: { count: done.count, amountFen: done.amountFen },
          });
      }
      return { anchors: anchors.size, drifted, phantoms, balanceMismatches, quarantine };
    },

    async repair(drift: FinanceDrift, upTo: number): Promise<FinanceRepair> {
      const wrong = new Set(drift.phantoms.map((p) => p.rechargeId));
      const missing: SyncedRewardDto[] = [];
      for (const { anchorId } of drift.drifted) {
        const found = await compareAnchor(anchorId, upTo);
        for (const id of found.wrong) wrong.add(id);
        missing.push(...found.missing);
      }
      // A missing reward may be settled under the wrong anchor or amount: that settlement goes first.
      for (const reward of missing) wrong.add(reward.rechargeId);
      const voided: number[] = [];
      for (let i = 0; i < wrong.size; i += PAGE) {
        voided.push(...(await finance.voidSettlements([...wrong].slice(i, i + PAGE), 'reconciliation: not the reward as stored')).voided);
      }
      // Taking back and settling both keep (income - settled shares) as it was, so this check is the same after them.
      const unbalanced = new Set((await finance.balanceMismatches()).map((m) => m.anchorId));
      const settleable = missing.filter((r) => !unbalanced.has(r.anchorId));
      let settled = 0;
      for (let i = 0; i < settleable.length; i += PAGE) {
        const batchId = `RECON-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
        settled += (await finance.batchSync({ batchId, records: settleable.slice(i, i + PAGE).map(toRecord) })).accepted;
      }
      return { voided, settled, held: missing.filter((r) => unbalanced.has(r.anchorId)).map((r) => r.rechargeId) };
    },
  };
}
