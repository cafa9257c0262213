/**
 * The anchor module's published face. Other modules depend on this interface only; `main.ts`
 * injects the in-process adapter today and an HTTP adapter once the module runs on its own.
 * Mirrors: GET /anchor/api/v1/live-rooms/{liveRoomId}.
 */

export type AnchorStatus = 'ACTIVE' | 'DISABLED';
export type LiveRoomStatus = 'IDLE' | 'LIVE' | 'CLOSED';

export interface AnchorDto {
  anchorId: number;
  name: string;
  avatarUrl: string | null;
  status: AnchorStatus;
  createdAt: string;
  updatedAt: string;
}

export interface LiveRoomDto {
  liveRoomId: number;
  anchorId: number;
  title: string;
  category: string | null;
  status: LiveRoomStatus;
  currentSessionId: number | null;
  createdAt: string;
  updatedAt: string;
}

/** Error codes this contract may answer with (as AppError codes, the same in-process and over HTTP). */
export const ANCHOR_ERROR_CODES = ['ANCHOR_NOT_FOUND', 'LIVE_ROOM_NOT_FOUND', 'ACCOUNT_DISABLED', 'INVALID_STATE'] as const;

export interface AnchorServiceClient {
  /** The live room, or null when there is none with this id. */
  getLiveRoom(liveRoomId: number): Promise<LiveRoomDto | null>;
}
