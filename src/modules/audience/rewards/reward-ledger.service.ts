import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import {
  STORED_REWARDS_MAX_IDS,
  type AnchorSyncTotalsDto,
  type AudienceServiceClient,
  type RewardTotals,
  type StoredRewardDto,
  type SyncStatus,
} from '../contract';
import {
  anchorRewards,
  maxRechargeId,
  refundsByIds,
  rewardsByIds,
  roomRewards,
  roomTotals,
  syncTotalsByAnchor,
  totalsByRoom,
  type StoredRewardRow,
} from './reward-ledger.repository';

type LedgerQueries = Pick<
  AudienceServiceClient,
  | 'storedRewards'
  | 'refundsOf'
  | 'maxRechargeId'
  | 'rewardTotalsByRoom'
  | 'roomRewardTotals'
  | 'anchorRewards'
  | 'roomRewards'
  | 'syncTotalsByAnchor'
  | 'syncTotalsByAnchorBetween'
>;

function toStoredReward(r: StoredRewardRow): StoredRewardDto {
  return {
    rechargeId: r.id,
    traceId: r.trace_id,
    audienceId: r.audience_id,
    liveRoomId: r.live_room_id,
    anchorId: r.anchor_id,
    amountFen: r.amount,
    createdAt: isoFromDb(r.created_at),
  };
}

/**
 * Read-only views of the reward table for other modules (published through the audience contract):
 * `storedRewards` — a primary-key lookup on settlement and the internal realtime path — on the
 * request pool; the whole-table queries of reconciliation on `reportsDb`, whose statements may take long.
 */
export function createRewardLedger(deps: { db: Db; reportsDb: Db }): LedgerQueries {
  const { db: requests, reportsDb: db } = deps;
  async function syncTotals(scope: Parameters<typeof syncTotalsByAnchor>[1]): Promise<AnchorSyncTotalsDto[]> {
    const byAnchor = new Map<number, AnchorSyncTotalsDto>();
    const zero = (): RewardTotals => ({ count: 0, amountFen: 0 });
    for (const row of await syncTotalsByAnchor(db, scope)) {
      const entry = byAnchor.get(row.anchor_id) ?? { anchorId: row.anchor_id, synced: zero(), inFlight: zero(), quarantined: zero() };
      byAnchor.set(row.anchor_id, entry);
      // Refunded and booked by finance: finance holds no settlement of it, whatever the sync did.
      if (row.refund === 'refunded') continue;
      let bucket: RewardTotals;
      if (row.refund === 'refund_pending') bucket = entry.inFlight;
      else if (row.sync_status === 'SYNCED') bucket = entry.synced;
      else if (row.sync_status === 'QUARANTINED') bucket = entry.quarantined;
      else bucket = entry.inFlight;
      bucket.count += Number(row.n);
      bucket.amountFen += Number(row.s ?? 0);
    }
    return [...byAnchor.values()];
  }

  return {
    async storedRewards(rechargeIds) {
      if (rechargeIds.length > STORED_REWARDS_MAX_IDS)
        throw AppError.validation([{ field: 'rechargeIds', message: `must hold at most ${STORED_REWARDS_MAX_IDS} ids` }]);
      return (await rewardsByIds(requests, rechargeIds)).map(toStoredReward);
    },

    async refundsOf(rechargeIds) {
      if (rechargeIds.length > STORED_REWARDS_MAX_IDS)
        throw AppError.validation([{ field: 'rechargeIds', message: `must hold at most ${STORED_REWARDS_MAX_IDS} ids` }]);
      return (await refundsByIds(requests, rechargeIds)).map((r) => ({
        rechargeId: r.recharge_id,
        reason: r.reason,
        refundedAt: isoFromDb(r.refunded_at),
        settled: r.done_at !== null,
      }));
    },

    maxRechargeId: (createdBefore) => maxRechargeId(db, createdBefore === undefined ? null : new Date(createdBefore)),

    async roomRewardTotals(liveRoomId, upToRechargeId) {
      const totals = await roomTotals(db, liveRoomId, upToRechargeId);
      return { count: Number(totals.n), amountFen: Number(totals.s ?? 0) };
    },

    async anchorRewards(anchorId, range) {
      const rows = await anchorRewards(db, { anchorId, afterId: range.afterId, upToId: range.upToRechargeId, limit: range.limit });
      return rows.map((r) => ({ ...toStoredReward(r), syncStatus: r.sync_status as SyncStatus, refunded: r.refunded !== null }));
    },

    async rewardTotalsByRoom(upToRechargeId) {
      return (await totalsByRoom(db, upToRechargeId)).map((r) => ({
        liveRoomId: r.live_room_id,
        anchorId: r.anchor_id,
        count: Number(r.n),
        amountFen: Number(r.s ?? 0),
      }));
    },

    async roomRewards(liveRoomId, range) {
      const rows = await roomRewards(db, { liveRoomId, afterId: range.afterId, upToId: range.upToRechargeId, limit: range.limit });
      return rows.map((r) => ({ rechargeId: r.id, traceId: r.trace_id, audienceId: r.audience_id, amountFen: r.amount }));
    },

    syncTotalsByAnchor: (upToRechargeId) => syncTotals({ upToId: upToRechargeId }),

    syncTotalsByAnchorBetween: (from, to) => syncTotals({ from: new Date(from), to: new Date(to) }),
  };
}
