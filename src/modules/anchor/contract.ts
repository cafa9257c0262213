/**
 * The anchor module's published face. Other modules depend on this interface only; `main.ts`
 * injects the in-process adapter today and an HTTP adapter once the module runs on its own.
 * Mirrors the anchor and live-room reads and POST /anchor/api/v1/live-rooms/realtime/reward.
 */

/** DELETED: soft-deleted; only admins read it, and its rooms refuse rewards like a disabled anchor's. */
export type AnchorStatus = 'ACTIVE' | 'DISABLED' | 'DELETED';
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
  coverUrl: string | null;
  status: LiveRoomStatus;
  currentSessionId: number | null;
  createdAt: string;
  updatedAt: string;
}

/** Error codes this contract may answer with (as AppError codes, the same in-process and over HTTP). */
export const ANCHOR_ERROR_CODES = ['ANCHOR_NOT_FOUND', 'LIVE_ROOM_NOT_FOUND', 'ACCOUNT_DISABLED', 'INVALID_STATE'] as const;

/** What the audience module needs to accept a reward for a room. */
export interface RewardTargetDto {
  liveRoomId: number;
  anchorId: number;
  status: LiveRoomStatus;
  anchorStatus: AnchorStatus;
  currentSessionId: number | null;
}

export interface ApplyRewardCommand {
  rechargeId: number;
  traceId: string;
  liveRoomId: number;
  audienceId: number;
  amountFen: number;
}

/** A live session with its totals (stored once final, else counted from the reward rows). */
export interface LiveSessionDto {
  sessionId: number;
  startedAt: string;
  endedAt: string | null;
  totalEarningsFen: number;
  rechargeCount: number;
}

/** A refunded reward, for the room it was given in. */
export interface RefundedRewardCommand {
  rechargeId: number;
  liveRoomId: number;
  /** The session it was given in, whose stored totals are counted again; null when none. */
  liveSessionId: number | null;
  amountFen: number;
}

export interface RealtimeFiguresDto {
  liveRoomId: number;
  /** All rewards ever applied to the room, in fen. */
  totalEarningsFen: number;
  rechargeCount: number;
  /** True when Redis was unusable and the figures went straight to the database. */
  degraded: boolean;
}

/** A room's figures as a reader sees them: DB1 plus what Redis holds on top. Mirrors GET /live-rooms/{id}/realtime. */
export interface RealtimeViewDto {
  liveRoomId: number;
  anchorId: number;
  status: LiveRoomStatus;
  totalEarningsFen: number;
  rechargeCount: number;
  updatedAt: string;
  source: 'redis' | 'db';
}

/** What the anchor module has counted for a room, for reconciliation against the reward table. */
export interface RealtimeAuditDto {
  liveRoomId: number;
  anchorId: number;
  /** Rewards with id <= the audit's bound counted so far (floor + DB1 journal + Redis not yet flushed). */
  counted: { count: number; amountFen: number };
  /** False when the room's live_room_realtime row disagrees with its floor, journal and refund lines. */
  rowMatchesJournal: boolean;
  /** Rewards with id <= upToRechargeId are counted only as this total: their journal lines were pruned. */
  floor: { upToRechargeId: number; count: number; amountFen: number };
}

/** A reward the anchor module has counted (a journal line): for checking against the reward table. */
export interface CountedRewardDto {
  rechargeId: number;
  liveRoomId: number;
  amountFen: number;
}

/** A stored reward, as another module asks whether its room has counted it. */
export interface CountedRewardRef {
  rechargeId: number;
  liveRoomId: number;
}

/** A reward as the source of truth knows it; what a repair needs to count a missing one. */
export interface RealtimeRewardRef {
  rechargeId: number;
  traceId: string;
  audienceId: number;
  amountFen: number;
}

export interface RealtimeRepairDto {
  /** Rewards that were missing (or counted with another amount) and were counted now. */
  applied: number;
  /** Journal lines removed: not a reward of this room with that amount. */
  removed: number;
  /** Other rooms whose lines were removed (a reward journalled under the wrong room): recount them too. */
  otherRooms: number[];
}

export interface AnchorServiceClient {
  /** The anchor, or null when there is none with this id. Mirrors GET /anchor/api/v1/anchors/{anchorId}. */
  getAnchor(anchorId: number): Promise<AnchorDto | null>;
  /** The live room, or null when there is none with this id. */
  getLiveRoom(liveRoomId: number): Promise<LiveRoomDto | null>;
  /** The room's figures (DB1 plus Redis); LIVE_ROOM_NOT_FOUND (404) when there is no such room. Mirrors GET /anchor/api/v1/live-rooms/{liveRoomId}/realtime. */
  getRealtime(liveRoomId: number): Promise<RealtimeViewDto>;
  /** The room's sessions overlapping `[from, to)` (ISO instants), newest first, at most `limit`, with their whole totals; null when there is no such room. */
  sessionsOfRoom(liveRoomId: number, range: { from: string; to: string }, limit: number): Promise<LiveSessionDto[] | null>;
  /** Rooms by id for reward validation, in one query for many; unknown ids are simply absent. */
  getRewardTargets(liveRoomIds: readonly number[]): Promise<RewardTargetDto[]>;
  /** Adds a reward to the room's realtime figures; idempotent per rechargeId. Mirrors POST /live-rooms/realtime/reward. */
  applyReward(command: ApplyRewardCommand): Promise<RealtimeFiguresDto>;
  /**
   * Takes a refunded reward out of its room's realtime figures, once per rechargeId however often it
   * is delivered (whether the reward itself is counted yet or not), and has its session's stored
   * totals counted again. `takenOut`: whether this call took it out.
   */
  takeOutRefundedReward(command: RefundedRewardCommand): Promise<{ takenOut: boolean }>;
  /**
   * Of these rewards, the ids their rooms have counted (DB1's journal or floor, or Redis): the
   * reward sweep applies the others. 503 while a configured Redis does not answer.
   */
  countedRewards(refs: readonly CountedRewardRef[]): Promise<number[]>;
  /** Every room's counted rewards with id <= upTo (pending deltas are flushed first). */
  realtimeAudit(upToRechargeId: number): Promise<RealtimeAuditDto[]>;
  /** Counted rewards (journal lines, any room) with id > afterId, in id order, at most `limit`: ids the reward table may not know. */
  countedRewardsAfter(afterId: number, limit: number): Promise<CountedRewardDto[]>;
  /**
   * Makes the room's counted rewards with afterId < id <= toId exactly `rewards` (the truth for
   * that range), by id, room and amount: missing ones are counted, lines that are not one of them
   * with its amount are forgotten — also a missing reward's line under another room.
   */
  repairRealtimeRange(
    liveRoomId: number,
    range: { afterId: number; toId: number },
    rewards: readonly RealtimeRewardRef[],
  ): Promise<RealtimeRepairDto>;
  /**
   * Sets the room's floor total to the truth for the rewards at or below `floorId` (a repair), if
   * its floor is still there; false when the floor moved meanwhile (the next reconciliation judges again).
   */
  setRealtimeFloor(liveRoomId: number, truth: { floorId: number; count: number; amountFen: number }): Promise<boolean>;
  /** Flushes the room and sets its live_room_realtime row to what its floor and journal hold. */
  recountRealtime(liveRoomId: number): Promise<void>;
  /**
   * Prunes the room's journal: lines with id <= confirmedUpToId (reconciliation found the room
   * exact up to there) that are past the replay window fold into the room's floor.
   */
  compactRealtimeJournal(liveRoomId: number, confirmedUpToId: number): Promise<{ rows: number; floorId: number }>;
}
