import type { AudienceServiceClient } from '../contract';
import type { createRewardLedger } from '../rewards/reward-ledger.service';
import type { SyncQuarantine } from '../sync/sync-quarantine.service';
import type { ViewersService } from '../viewers/viewers.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessAudienceClient(
  viewers: ViewersService,
  ledger: ReturnType<typeof createRewardLedger>,
  quarantine: SyncQuarantine,
): AudienceServiceClient {
  return {
    getAudience: (audienceId) => viewers.getAudience(audienceId),
    storedRewards: (rechargeIds) => ledger.storedRewards(rechargeIds),
    maxRechargeId: (createdBefore) => ledger.maxRechargeId(createdBefore),
    rewardTotalsByRoom: (upTo) => ledger.rewardTotalsByRoom(upTo),
    roomRewardTotals: (liveRoomId, upTo) => ledger.roomRewardTotals(liveRoomId, upTo),
    anchorRewards: (anchorId, range) => ledger.anchorRewards(anchorId, range),
    roomRewards: (liveRoomId, range) => ledger.roomRewards(liveRoomId, range),
    syncTotalsByAnchor: (upTo) => ledger.syncTotalsByAnchor(upTo),
    quarantinedRewards: (limit) => quarantine.list(limit),
  };
}
