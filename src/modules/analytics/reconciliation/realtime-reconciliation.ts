import type { AnchorServiceClient, CountedRewardDto, RealtimeAuditDto } from '../../anchor/contract';
import type { AudienceServiceClient, RewardTotals } from '../../audience/contract';
import { STORED_REWARDS_MAX_IDS } from '../../audience/contract';
import { sameTotals, ZERO } from './totals';

/** Rewards compared per call: one page of the reward table against the same id range of the journal. */
const PAGE = 2000;

export interface RoomDrift {
  audit: RealtimeAuditDto;
  expected: RewardTotals;
}

export interface RealtimeDrift {
  rooms: number;
  /** Every room's audit, drifted or not. */
  audits: RealtimeAuditDto[];
  drifted: RoomDrift[];
  /** Journal lines above the newest reward that are not a stored reward of that room with that amount. */
  phantoms: CountedRewardDto[];
}

export interface RoomRepair {
  liveRoomId: number;
  applied: number;
  removed: number;
}

/**
 * The rooms' realtime figures against the reward table. Up to the bound, per room: count and sum
 * (floor + journal + Redis) against the rewards; above the newest reward, every journal line is
 * looked up, since a line there names a reward that does not exist (yet): "every id ever seen".
 */
export function createRealtimeReconciliation(deps: { audience: AudienceServiceClient; anchor: AnchorServiceClient }) {
  const { audience, anchor } = deps;

  /** Journal lines above the newest reward that do not match a stored reward (the lookup catches rewards committed meanwhile). */
  async function phantomLines(): Promise<CountedRewardDto[]> {
    const newest = await audience.maxRechargeId();
    const phantoms: CountedRewardDto[] = [];
    for (let afterId = newest; ;) {
      const lines = await anchor.countedRewardsAfter(afterId, STORED_REWARDS_MAX_IDS);
      if (lines.length === 0) break;
      const stored = new Map((await audience.storedRewards(lines.map((l) => l.rechargeId))).map((r) => [r.rechargeId, r]));
      phantoms.push(
        ...lines.filter(
          (l) => stored.get(l.rechargeId)?.liveRoomId !== l.liveRoomId || stored.get(l.rechargeId)?.amountFen !== l.amountFen,
        ),
      );
      if (lines.length < STORED_REWARDS_MAX_IDS) break;
      afterId = lines[lines.length - 1]?.rechargeId ?? afterId;
    }
    return phantoms;
  }

  /** Makes the room's rewards in (afterId, upTo] exactly the reward table's, a page at a time; adds the other rooms it touched to `touched`. */
  async function repairRange(liveRoomId: number, afterId: number, upTo: number, result: RoomRepair, touched: Set<number>): Promise<void> {
    for (let from = afterId; from < upTo;) {
      const page = await audience.roomRewards(liveRoomId, { afterId: from, upToRechargeId: upTo, limit: PAGE });
      const toId = page.length === PAGE ? (page[page.length - 1]?.rechargeId ?? upTo) : upTo;
      const repaired = await anchor.repairRealtimeRange(liveRoomId, { afterId: from, toId }, page);
      result.applied += repaired.applied;
      result.removed += repaired.removed;
      for (const room of repaired.otherRooms) touched.add(room);
      from = toId;
    }
  }

  return {
    async drift(upTo: number): Promise<RealtimeDrift> {
      const [truth, audits, phantoms] = await Promise.all([audience.rewardTotalsByRoom(upTo), anchor.realtimeAudit(upTo), phantomLines()]);
      const expected = new Map(truth.map((t) => [t.liveRoomId, t]));
      const phantomRooms = new Set(phantoms.map((p) => p.liveRoomId));
      const drifted = audits
        .map((audit) => ({ audit, expected: expected.get(audit.liveRoomId) ?? ZERO }))
        .filter(
          ({ audit, expected: e }) => !audit.rowMatchesJournal || !sameTotals(audit.counted, e) || phantomRooms.has(audit.liveRoomId),
        );
      return { rooms: audits.length, audits, drifted, phantoms };
    },

    /**
     * Repairs one room: the rewards above its floor id by id, its phantom lines above the bound, and
     * its floor total when the rewards below the floor say otherwise; then recounts it (and any other
     * room that lost a line to it).
     */
    async repairRoom(audit: RealtimeAuditDto, upTo: number, phantoms: readonly CountedRewardDto[]): Promise<RoomRepair> {
      const liveRoomId = audit.liveRoomId;
      const result: RoomRepair = { liveRoomId, applied: 0, removed: 0 };
      const touched = new Set<number>([liveRoomId]);
      await repairRange(liveRoomId, audit.floor.upToRechargeId, upTo, result, touched);
      // Above the bound rewards are still arriving: only the phantom lines themselves are put right, one id at a time.
      for (const phantom of phantoms.filter((p) => p.liveRoomId === liveRoomId)) {
        const [stored] = await audience.storedRewards([phantom.rechargeId]);
        const truth =
          stored?.liveRoomId === liveRoomId
            ? [{ rechargeId: stored.rechargeId, traceId: stored.traceId, audienceId: stored.audienceId, amountFen: stored.amountFen }]
            : [];
        const repaired = await anchor.repairRealtimeRange(liveRoomId, { afterId: phantom.rechargeId - 1, toId: phantom.rechargeId }, truth);
        result.applied += repaired.applied;
        result.removed += repaired.removed;
      }
      if (audit.floor.upToRechargeId > 0) {
        const belowFloor = await audience.roomRewardTotals(liveRoomId, audit.floor.upToRechargeId);
        if (!sameTotals(belowFloor, audit.floor))
          await anchor.setRealtimeFloor(liveRoomId, { floorId: audit.floor.upToRechargeId, ...belowFloor });
      }
      for (const room of touched) await anchor.recountRealtime(room);
      return result;
    },

    /** Prunes the journal of rooms found exact up to `upTo`; returns how many lines were folded. */
    async compact(clean: readonly RealtimeAuditDto[], upTo: number): Promise<{ rooms: number; rows: number }> {
      let rows = 0;
      let rooms = 0;
      for (const audit of clean) {
        // Nothing above the floor: no journal lines to fold.
        if (audit.counted.count === audit.floor.count) continue;
        const folded = await anchor.compactRealtimeJournal(audit.liveRoomId, upTo);
        if (folded.rows > 0) rooms += 1;
        rows += folded.rows;
      }
      return { rooms, rows };
    },
  };
}
