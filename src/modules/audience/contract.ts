/**
 * The audience module's published face: viewers, and read-only queries over the reward table (the
 * source of truth that reconciliation compares the realtime figures and finance against).
 */

export type AudienceStatus = 'ACTIVE' | 'DISABLED';

export interface AudienceDto {
  audienceId: number;
  nickname: string;
  status: AudienceStatus;
  /** Leaderboards and live-room events show this viewer as `audienceId: null, nickname: null`. */
  anonymous: boolean;
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

/**
 * What the sync has handed to finance, per anchor. A refunded reward finance has booked the refund of
 * is in none of these (finance holds no settlement of it); one whose refund finance has not booked
 * yet counts as in flight (finance may still hold its settlement).
 */
export interface AnchorSyncTotalsDto {
  anchorId: number;
  /** Rewards marked SYNCED: finance confirmed them. */
  synced: RewardTotals;
  /** Rewards claimed by a sync that has not confirmed yet, or refunded with finance not yet told (finance may or may not hold them). */
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

/** REFUNDED: refunded before the sync took it (PENDING or QUARANTINED then): never sent to finance. */
export type SyncStatus = 'PENDING' | 'CLAIMED' | 'SYNCED' | 'QUARANTINED' | 'REFUNDED';

/** A refunded reward: why, when, and whether everything outside DB1 (room figures, boards, finance) has taken it out. */
export interface RefundedRewardDto {
  rechargeId: number;
  reason: string;
  /** ISO 8601 UTC. */
  refundedAt: string;
  /** False until the refund's effects are all confirmed (the refund-effects job retries them). */
  settled: boolean;
}

/** A stored reward with how far the finance sync has taken it. */
export interface SyncedRewardDto extends StoredRewardDto {
  syncStatus: SyncStatus;
  /** Refunded: finance holds its settlement reversed, or never settled it; either is right. */
  refunded: boolean;
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

/** What a live-room event shows of a viewer: an anonymous one appears as `audienceId: null, nickname: null`. */
export interface ViewerProfileDto {
  audienceId: number;
  nickname: string;
  anonymous: boolean;
}

/** Most ids one `viewerProfiles` call takes. */
export const VIEWER_PROFILES_MAX_IDS = 1000;

/** Most ids one `storedRewards` call takes (a settlement batch holds at most 1000). */
export const STORED_REWARDS_MAX_IDS = 1000;

/** A live session's rewards, counted and summed from the reward rows (`recharge.live_session_id`). */
export interface SessionRewardTotalsDto extends RewardTotals {
  liveSessionId: number;
}

/** Most session ids one `sessionRewardTotals` call takes (a page of sessions holds at most 100). */
export const SESSION_TOTALS_MAX_IDS = 500;

/** Whose rewards a record query reads: one anchor's, one live room's or one viewer's. */
export type RewardOwner = { anchorId: number } | { liveRoomId: number } | { audienceId: number };

/** A reward's state as records show it: SUCCESS, or REFUNDED once refunded. */
export type RewardRecordStatus = 'SUCCESS' | 'REFUNDED';

/** A reward as the record lists and the CSV export show it. */
export interface RewardRecordDto {
  rechargeId: number;
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  anchorId: number;
  amountFen: number;
  status: RewardRecordStatus;
  /** ISO 8601 UTC, to the millisecond. */
  createdAt: string;
}

/** An owner's rewards created in `[from, to)` (ISO 8601; either bound may be left out). */
export interface RewardRecordRange {
  owner: RewardOwner;
  from?: string | undefined;
  to?: string | undefined;
}

export interface RewardRecordPageQuery extends RewardRecordRange {
  page: number;
  pageSize: number;
  /**
   * Only rewards with rechargeId <= snapshot, so that later pages do not shift while rewards arrive.
   * Left out: the largest id among the matching rewards stored now is taken, and returned.
   */
  snapshot?: number | undefined;
}

/** One page, newest first (createdAt desc, then rechargeId desc). */
export interface RewardRecordPageDto {
  items: RewardRecordDto[];
  /** Matching rewards with rechargeId <= snapshot. */
  total: number;
  /** The id bound the page was read under: pass it back for the next pages. */
  snapshot: number;
}

/** Totals of the rewards in one bucket `[boundaries[bucket], boundaries[bucket + 1])`. */
export interface RewardBucketTotalsDto {
  bucket: number;
  amountFen: number;
  rewardCount: number;
  /** Distinct viewers among them. */
  supporterCount: number;
}

/** Every reward not refunded in a time range, platform-wide. */
export interface PlatformTotalsDto extends RewardTotals {
  /** Distinct viewers among them. */
  payingViewers: number;
}

/** Count and sum of the platform's rewards in one bucket `[boundaries[bucket], boundaries[bucket + 1])`; empty buckets are absent. */
export interface PlatformBucketTotalsDto extends RewardTotals {
  bucket: number;
}

/** A viewer's rewards in a range, platform-wide (admin reports show anonymous viewers too, flagged). */
export interface ViewerTotalsDto {
  audienceId: number;
  nickname: string | null;
  anonymous: boolean;
  amountFen: number;
  rewardCount: number;
}

/** Rewards whose amount falls in bucket `bucket` of the edges asked: [edges[bucket], edges[bucket + 1]). */
export interface AmountBucketDto extends RewardTotals {
  bucket: number;
}

/** One room's rewards in a range, and its busiest minute (by amount; the earliest on a tie). */
export interface RoomActivityDto {
  totals: PlatformTotalsDto;
  /** null without rewards in the range. `start`: ISO, the minute's first instant (UTC). */
  peakMinute: ({ start: string } & RewardTotals) | null;
}

/** A room's TOP10 for one period, as `GET /recharge/top10` answers it (amounts as two-decimal strings). */
export interface RoomBoardDto {
  period: 'day' | 'week' | 'month' | 'all';
  /** The period's bounds `[from, to)`, ISO; both null for `all`. */
  from: string | null;
  to: string | null;
  items: Array<{ rank: number; audienceId: number | null; nickname: string | null; totalAmount: string; rewardCount: number }>;
}

/** Most lower edges one `amountDistribution` call takes. */
export const AMOUNT_DISTRIBUTION_MAX_EDGES = 20;

/** Most boundaries one `rewardTotalsByBucket` call takes (a year of days, or two weeks of hours, and then some). */
export const REWARD_BUCKET_MAX_BOUNDARIES = 1000;

/** Rewards per page of an export: large enough to amortise a remote call, small enough to hold. */
export const REWARD_EXPORT_PAGE_SIZE = 500;

export interface AudienceServiceClient extends RewardAggregateQueries {
  /** The stored rewards among `rechargeIds` (at most STORED_REWARDS_MAX_IDS); unknown ids are simply absent. One call per batch. */
  storedRewards(rechargeIds: readonly number[]): Promise<StoredRewardDto[]>;
  /** The refunded rewards among `rechargeIds` (at most STORED_REWARDS_MAX_IDS); the others are absent. */
  refundsOf(rechargeIds: readonly number[]): Promise<RefundedRewardDto[]>;
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
  /** Per anchor: what the sync has handed to finance, among rewards created in [from, to) (ISO instants). */
  syncTotalsByAnchorBetween(from: string, to: string): Promise<AnchorSyncTotalsDto[]>;
  /** The rewards the sync quarantined (all of them counted, the first `limit` listed with why). */
  quarantinedRewards(limit: number): Promise<QuarantineDto>;
  /** Per session asked (at most SESSION_TOTALS_MAX_IDS), the count and sum of its rewards; a session without any gets zeros. */
  sessionRewardTotals(sessionIds: readonly number[]): Promise<SessionRewardTotalsDto[]>;
  /** Nickname and anonymity of these viewers (at most VIEWER_PROFILES_MAX_IDS) in one query; unknown ids are simply absent. */
  viewerProfiles(audienceIds: readonly number[]): Promise<ViewerProfileDto[]>;
  /** One page of an owner's rewards in a time range, newest first, under a snapshot bound (see RewardRecordPageQuery). */
  rewardRecords(query: RewardRecordPageQuery): Promise<RewardRecordPageDto>;
  /**
   * An owner's rewards summed per bucket between consecutive `boundaries` (ISO instants, strictly
   * ascending, 2 to REWARD_BUCKET_MAX_BOUNDARIES): the caller draws the buckets (days in a time zone),
   * the database sums them in one statement. Empty buckets are absent.
   */
  rewardTotalsByBucket(owner: RewardOwner, boundaries: readonly string[]): Promise<RewardBucketTotalsDto[]>;
  /** Every reward not refunded created in [from, to) (ISO instants), platform-wide: counted, summed, its distinct viewers. */
  platformTotals(from: string, to: string): Promise<PlatformTotalsDto>;
  /** The platform's rewards (refunds out) per bucket between consecutive `boundaries` (as `rewardTotalsByBucket`). */
  platformTotalsByBucket(boundaries: readonly string[]): Promise<PlatformBucketTotalsDto[]>;
  /** The viewers who gave most in [from, to), platform-wide, at most `limit` (≤ 100), refunds out. */
  topViewersBetween(from: string, to: string, limit: number): Promise<ViewerTotalsDto[]>;
  /** The range's rewards per amount bucket among ascending lower edges in fen (the first ≥ 1, at most AMOUNT_DISTRIBUTION_MAX_EDGES); empty buckets absent. */
  amountDistribution(from: string, to: string, edgesFen: readonly number[]): Promise<AmountBucketDto[]>;
  /** One room's rewards in [from, to) and its busiest minute. */
  roomActivity(liveRoomId: number, from: string, to: string): Promise<RoomActivityDto>;
  /**
   * Drops the room's TOP10 boards (day, week, month, all: the periods containing now) from Redis and
   * rebuilds them from DB1; the boards as rebuilt. DEPENDENCY_UNAVAILABLE (503) while Redis does not answer.
   */
  rebuildRoomBoards(liveRoomId: number): Promise<RoomBoardDto[]>;
  /**
   * Every reward of the range, oldest first (createdAt asc, then rechargeId asc), in pages of at most
   * REWARD_EXPORT_PAGE_SIZE read from one database statement as the consumer pulls them: nothing
   * beyond a page or so is held, however many rows there are. A failure before the first page
   * rejects the iteration's first step; one later throws from it. Stopping early releases the statement.
   */
  exportRewardRecords(range: RewardRecordRange): Promise<AsyncIterable<RewardRecordDto[]>>;
}

/** A half-open time range `[from, to)` of ISO 8601 instants; null leaves that side open. */
export interface RewardWindow {
  from: string | null;
  to: string | null;
}

/** Every reward to an anchor (refunded ones left out), counted and summed. */
export interface AnchorRewardStatsDto {
  anchorId: number;
  amountFen: number;
  rewardCount: number;
  /** Distinct viewers who rewarded the anchor. */
  supporterCount: number;
}

/** One viewer's rewards within a window; `audienceId` and `nickname` are null for an anonymous viewer. */
export interface SupporterTotalsDto {
  audienceId: number | null;
  nickname: string | null;
  amountFen: number;
  rewardCount: number;
}

/** One anchor's rewards within a window. */
export interface AnchorEarningsDto {
  anchorId: number;
  amountFen: number;
  rewardCount: number;
}

/** An anchor's supporters within a window, split by whether they had rewarded the anchor before it. */
export interface SupporterSummaryDto {
  supporterCount: number;
  /** Supporters whose first reward to this anchor ever lies in the window. */
  newSupporterCount: number;
  amountFen: number;
  /** What the new supporters gave within the window. */
  newSupporterAmountFen: number;
  /** What the ten largest supporters of the window gave within it. */
  top10AmountFen: number;
}

/** Most rows one aggregate list call returns. */
export const REWARD_AGGREGATES_MAX_ROWS = 100;

/**
 * Aggregates over the reward table for the anchor module's insights, each one GROUP BY in DB1.
 * Lists are largest amount first, ties by the earlier first reward (then the smaller id); `limit` is
 * at most REWARD_AGGREGATES_MAX_ROWS.
 */
export interface RewardAggregateQueries {
  /** An anchor's totals over all its rewards. */
  anchorRewardStats(anchorId: number): Promise<AnchorRewardStatsDto>;
  /** The viewers who gave an anchor the most within the window. */
  topSupportersOfAnchor(anchorId: number, window: RewardWindow, limit: number): Promise<SupporterTotalsDto[]>;
  /** The viewers who gave a room the most within the window. */
  topSupportersOfRoom(liveRoomId: number, window: RewardWindow, limit: number): Promise<SupporterTotalsDto[]>;
  /** Anchors by what they earned within the window, skipping the first `offset` (the caller filters some out and asks for more). */
  anchorsByEarnings(window: RewardWindow, page: { offset: number; limit: number }): Promise<AnchorEarningsDto[]>;
  /** New versus returning supporters of an anchor within the window, and the top ten's part. */
  supporterSummary(anchorId: number, window: RewardWindow): Promise<SupporterSummaryDto>;
}
