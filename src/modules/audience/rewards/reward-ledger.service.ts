import type { Db } from '../../../shared/db/knex';
import type { AnchorSyncTotalsDto, AudienceServiceClient, RewardTotals } from '../contract';
import { maxRechargeId, roomRewards, syncTotalsByAnchor, totalsByRoom } from './reward-ledger.repository';

type LedgerQueries = Pick<AudienceServiceClient, 'maxRechargeId' | 'rewardTotalsByRoom' | 'roomRewards' | 'syncTotalsByAnchor'>;

/** Read-only views of the reward table for reconciliation (published through the audience contract). */
export function createRewardLedger(db: Db): LedgerQueries {
  return {
    maxRechargeId: (createdBefore) => maxRechargeId(db, new Date(createdBefore)),

    async rewardTotalsByRoom(upToRechargeId) {
      return (await totalsByRoom(db, upToRechargeId)).map((r) => ({ liveRoomId: r.live_room_id, anchorId: r.anchor_id, count: Number(r.n), amountFen: Number(r.s ?? 0) }));
    },

    async roomRewards(liveRoomId, range) {
      const rows = await roomRewards(db, { liveRoomId, afterId: range.afterId, upToId: range.upToRechargeId, limit: range.limit });
      return rows.map((r) => ({ rechargeId: r.id, traceId: r.trace_id, audienceId: r.audience_id, amountFen: r.amount }));
    },

    async syncTotalsByAnchor(upToRechargeId) {
      const byAnchor = new Map<number, AnchorSyncTotalsDto>();
      const zero = (): RewardTotals => ({ count: 0, amountFen: 0 });
      for (const row of await syncTotalsByAnchor(db, upToRechargeId)) {
        const entry = byAnchor.get(row.anchor_id) ?? { anchorId: row.anchor_id, synced: zero(), inFlight: zero() };
        const totals = { count: Number(row.n), amountFen: Number(row.s ?? 0) };
        if (row.sync_status === 'SYNCED') entry.synced = totals;
        else entry.inFlight = totals;
        byAnchor.set(row.anchor_id, entry);
      }
      return [...byAnchor.values()];
    },
  };
}
