import type { AnchorsService } from '../anchors/anchors.service';
import type { AnchorServiceClient } from '../contract';
import type { LiveRoomsService } from '../live-rooms/live-rooms.service';
import type { RealtimeService } from '../realtime/realtime.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessAnchorClient(anchors: AnchorsService, rooms: LiveRoomsService, realtime: RealtimeService): AnchorServiceClient {
  return {
    getAnchor: (anchorId) => anchors.findAnchor(anchorId),
    getLiveRoom: (liveRoomId) => rooms.getLiveRoom(liveRoomId),
    getRewardTargets: (liveRoomIds) => rooms.getRewardTargets(liveRoomIds),
    applyReward: (command) => realtime.applyReward(command),
  };
}
