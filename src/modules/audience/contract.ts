/**
 * The audience module's published face: viewers, and read-only queries over the reward table (the
 * source of truth that reconciliation compares the realtime figures and finance against).
 */

export type AudienceStatus = 'ACTIVE' | 'DISABLED';

export interface AudienceDto {
  audienceId: number;
  nickname: string;
  status: AudienceStatus;
  createdAt: string;
  updatedAt: string;
}

export const AUDIENCE_ERROR_CODES = ['AUDIENCE_NOT_FOUND'] as const;

/** Count and sum (fen) of a set of rewards. */
export interface RewardTotals {
  count: number;
  amountFen: number;
}

export interface RoomRewardTotalsDto extends RewardTotals {
  liveRoomId: number;
  anchorId: number;
}

export interface AnchorSyncTotalsDto {
  anchorId: number;
  /** Rewards marked SYNCED: finance confirmed them. */
  synced: RewardTotals;
  /** Rewards claimed by a sync that has not confirmed yet (finance may or may not hold them). */
  inFlight: RewardTotals;
  /**
   * Rewards the sync stopped sending because finance kept refusing them (QUARANTINED): normally not
   * settled, but one finance settled before it began refusing it is possible, like an in-flight one.
   */
  quarantined: RewardTotals;
}

export interface RewardRefDto {
  rechargeId: number;
  traceId: string;
  audienceId: number;
  amountFen: number;
}

/**
 * A reward exactly as the reward table holds it: what another module checks a record it receives
 * against, instead of trusting the caller (finance before settling, the anchor module before
 * counting a reward sent over its internal endpoint).
 */
export interface StoredRewardDto {
  rechargeId: number;
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  anchorId: number;
  amountFen: number;
  /** ISO 8601 UTC, to the millisecond. */
  createdAt: string;
}

export type SyncStatus = 'PENDING' | 'CLAIMED' | 'SYNCED' | 'QUARANTINED';

/** A stored reward with how far the finance sync has taken it. */
export interface SyncedRewardDto extends StoredRewardDto {
  syncStatus: SyncStatus;
}

/** A reward the finance sync no longer sends because finance refused it SYNC_QUARANTINE_AFTER times; it waits for an operator. */
export interface QuarantinedRewardDto extends StoredRewardDto {
  /** Runs in which finance refused it. */
  refusals: number;
  /** Finance's last answer, e.g. `409 REWARD_MISMATCH (records[0].amount: differs from the stored reward)`. */
  lastRefusal: string | null;
  /** ISO 8601 UTC. */
  quarantinedAt: string | null;
}

export interface QuarantineDto {
  /** Every quarantined reward, counted and summed. */
  total: RewardTotals;
  /** The first of them in id order, at most the limit asked. */
  rewards: QuarantinedRewardDto[];
}

/** Most ids one `storedRewards` call takes (a settlement batch holds at most 1000). */
export const STORED_REWARDS_MAX_IDS = 1000;

export interface AudienceServiceClient {
  /** The stored rewards among `rechargeIds` (at most STORED_REWARDS_MAX_IDS); unknown ids are simply absent. One call per batch. */
  storedRewards(rechargeIds: readonly number[]): Promise<StoredRewardDto[]>;
  /** The viewer, or null when there is none with this id. */
  getAudience(audienceId: number): Promise<AudienceDto | null>;
  /**
   * The largest id of a reward created before `createdBefore` (ISO time), or of any reward when it
   * is left out; 0 when none. Reconciliation looks at rewards up to a bound a few seconds old,
   * leaving the last moments' rewards to finish their own notification.
   */
  maxRechargeId(createdBefore?: string): Promise<number>;
  /** Per room: count and sum of rewards with id <= upTo. */
  rewardTotalsByRoom(upToRechargeId: number): Promise<RoomRewardTotalsDto[]>;
  /** One room's count and sum of rewards with id <= upTo. */
  roomRewardTotals(liveRoomId: number, upToRechargeId: number): Promise<RewardTotals>;
  /** An anchor's rewards with afterId < id <= upTo, in id order, at most `limit`, with their sync state. */
  anchorRewards(anchorId: number, range: { afterId: number; upToRechargeId: number; limit: number }): Promise<SyncedRewardDto[]>;
  /** A room's rewards with afterId < id <= upTo, in id order, at most `limit`. */
  roomRewards(liveRoomId: number, range: { afterId: number; upToRechargeId: number; limit: number }): Promise<RewardRefDto[]>;
  /** Per anchor: what the sync has handed to finance, among rewards with id <= upTo. */
  syncTotalsByAnchor(upToRechargeId: number): Promise<AnchorSyncTotalsDto[]>;
  /** The rewards the sync quarantined (all of them counted, the first `limit` listed with why). */
  quarantinedRewards(limit: number): Promise<QuarantineDto>;
}
