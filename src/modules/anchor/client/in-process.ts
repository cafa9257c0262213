import type { AnchorServiceClient } from '../contract';
import type { LiveRoomsService } from '../live-rooms/live-rooms.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessAnchorClient(rooms: LiveRoomsService): AnchorServiceClient {
  return {
    getLiveRoom: (liveRoomId) => rooms.getLiveRoom(liveRoomId),
  };
}
