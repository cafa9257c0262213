import type { AnchorsService } from '../anchors/anchors.service';
import type { AnchorServiceClient } from '../contract';
import type { LiveRoomsService } from '../live-rooms/live-rooms.service';
import type { LiveSessionsService } from '../live-rooms/live-sessions.service';
import type { createRealtimeAudit } from '../realtime/realtime-audit.service';
import type { RealtimeHeal } from '../realtime/realtime-heal.service';
import type { RealtimeService } from '../realtime/realtime.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessAnchorClient(
  anchors: AnchorsService,
  rooms: LiveRoomsService,
  realtime: RealtimeService,
  audit: ReturnType<typeof createRealtimeAudit>,
  heal: RealtimeHeal,
  sessions: LiveSessionsService,
): AnchorServiceClient {
  return {
    getAnchor: (anchorId) => anchors.findAnchor(anchorId),
    getLiveRoom: (liveRoomId) => rooms.getLiveRoom(liveRoomId),
    getRealtime: (liveRoomId) => realtime.getRealtime(liveRoomId),
    sessionsOfRoom: (liveRoomId, range, limit) =>
      sessions.sessionsOverlapping(liveRoomId, { from: new Date(range.from), to: new Date(range.to) }, limit),
    getRewardTargets: (liveRoomIds) => rooms.getRewardTargets(liveRoomIds),
    applyReward: (command) => realtime.applyReward(command),
    takeOutRefundedReward: (command) => realtime.takeOutRefunded(command),
    countedRewards: (refs) => heal.countedRewards(refs),
    realtimeAudit: (upTo) => audit.realtimeAudit(upTo),
    countedRewardsAfter: (afterId, limit) => audit.countedRewardsAfter(afterId, limit),
    repairRealtimeRange: (liveRoomId, range, rewards) => audit.repairRealtimeRange(liveRoomId, range, rewards),
    setRealtimeFloor: (liveRoomId, truth) => audit.setRealtimeFloor(liveRoomId, truth),
    recountRealtime: (liveRoomId) => audit.recountRealtime(liveRoomId),
    compactRealtimeJournal: (liveRoomId, confirmedUpToId) => audit.compactRealtimeJournal(liveRoomId, confirmedUpToId),
  };
}
