import type { LeaderboardsService } from '../boards/leaderboards.service';
import type { AudienceServiceClient, RewardAggregateQueries } from '../contract';
import type { createRewardLedger } from '../rewards/reward-ledger.service';
import type { createSessionTotals } from '../rewards/session-totals.service';
import type { PlatformQueries } from '../rewards/platform-totals.service';
import type { RecordQueries } from '../rewards/reward-records.service';
import type { SyncQuarantine } from '../sync/sync-quarantine.service';
import type { ViewersService } from '../viewers/viewers.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessAudienceClient(
  viewers: ViewersService,
  ledger: ReturnType<typeof createRewardLedger>,
  quarantine: SyncQuarantine,
  aggregates: RewardAggregateQueries,
  sessions: ReturnType<typeof createSessionTotals>,
  records: RecordQueries,
  platform: PlatformQueries,
  leaderboards: LeaderboardsService,
): AudienceServiceClient {
  return {
    getAudience: (audienceId) => viewers.getAudience(audienceId),
    storedRewards: (rechargeIds) => ledger.storedRewards(rechargeIds),
    refundsOf: (rechargeIds) => ledger.refundsOf(rechargeIds),
    maxRechargeId: (createdBefore) => ledger.maxRechargeId(createdBefore),
    rewardTotalsByRoom: (upTo) => ledger.rewardTotalsByRoom(upTo),
    roomRewardTotals: (liveRoomId, upTo) => ledger.roomRewardTotals(liveRoomId, upTo),
    anchorRewards: (anchorId, range) => ledger.anchorRewards(anchorId, range),
    roomRewards: (liveRoomId, range) => ledger.roomRewards(liveRoomId, range),
    syncTotalsByAnchor: (upTo) => ledger.syncTotalsByAnchor(upTo),
    syncTotalsByAnchorBetween: (from, to) => ledger.syncTotalsByAnchorBetween(from, to),
    quarantinedRewards: (limit) => quarantine.list(limit),
    anchorRewardStats: (anchorId) => aggregates.anchorRewardStats(anchorId),
    topSupportersOfAnchor: (anchorId, window, limit) => aggregates.topSupportersOfAnchor(anchorId, window, limit),
    topSupportersOfRoom: (liveRoomId, window, limit) => aggregates.topSupportersOfRoom(liveRoomId, window, limit),
    anchorsByEarnings: (window, page) => aggregates.anchorsByEarnings(window, page),
    supporterSummary: (anchorId, window) => aggregates.supporterSummary(anchorId, window),
    sessionRewardTotals: (sessionIds) => sessions.sessionRewardTotals(sessionIds),
    viewerProfiles: (audienceIds) => viewers.viewerProfiles(audienceIds),
    rewardRecords: (query) => records.rewardRecords(query),
    rewardTotalsByBucket: (owner, boundaries) => records.rewardTotalsByBucket(owner, boundaries),
    exportRewardRecords: (range) => records.exportRewardRecords(range),
    platformTotals: (from, to) => platform.platformTotals(from, to),
    platformTotalsByBucket: (boundaries) => platform.platformTotalsByBucket(boundaries),
    topViewersBetween: (from, to, limit) => platform.topViewersBetween(from, to, limit),
    amountDistribution: (from, to, edgesFen) => platform.amountDistribution(from, to, edgesFen),
    roomActivity: (liveRoomId, from, to) => platform.roomActivity(liveRoomId, from, to),
    rebuildRoomBoards: (liveRoomId) => leaderboards.rebuildRoomBoards(liveRoomId),
  };
}
