/**
 * The finance module's published face. Mirrors:
 * POST /finance/api/v1/recharge/batch-sync (internal role).
 * Amounts cross this contract as integer fen; the HTTP adapter turns them into "100.00" strings.
 */

export interface SettlementRecord {
  rechargeId: number;
  traceId: string;
  anchorId: number;
  liveRoomId: number;
  audienceId: number;
  amountFen: number;
  /** ISO 8601 UTC time of the reward: the commission rate in force then applies. */
  createdAt: string;
}

export interface BatchSyncCommand {
  batchId: string;
  records: SettlementRecord[];
}

export interface BatchSyncResult {
  batchId: string;
  /** Records settled by this call. */
  accepted: number;
  /** Records already settled earlier (by recharge id): ignored, never settled twice. */
  duplicates: number;
}

export const FINANCE_ERROR_CODES = ['VALIDATION_FAILED', 'DEPENDENCY_UNAVAILABLE'] as const;

export interface SettledTotalsDto {
  anchorId: number;
  count: number;
  amountFen: number;
  anchorFen: number;
  platformFen: number;
}

/** An anchor whose balance disagrees with its settlements or with itself. */
export interface BalanceMismatchDto {
  anchorId: number;
  /** Σ anchor shares of its settled rewards. */
  settledAnchorFen: number;
  totalIncomeFen: number;
  availableFen: number;
  frozenFen: number;
  withdrawnFen: number;
}

/** A settled reward as finance holds it (a settlement detail), for checking against the reward table. */
export interface SettledRecordDto extends SettlementRecord {
  anchorShareFen: number;
}

export interface FinanceServiceClient {
  /** Settles each record not yet settled, in one DB2 transaction; idempotent per rechargeId. */
  batchSync(command: BatchSyncCommand): Promise<BatchSyncResult>;
  /** Per anchor: what has been settled among rewards with id <= upTo. */
  settledTotalsByAnchor(upToRechargeId: number): Promise<SettledTotalsDto[]>;
  /** Anchors whose total income differs from their settled shares, or whose parts do not add up to it. */
  balanceMismatches(): Promise<BalanceMismatchDto[]>;
  /** Settled rewards with id > afterId (and <= upTo when given; of one anchor when given), in id order, at most `limit`. */
  settledRecords(query: { anchorId?: number; afterId: number; upToRechargeId?: number; limit: number }): Promise<SettledRecordDto[]>;
  /**
   * Takes back the settlements of these rewards that do not match the reward table (no such reward,
   * or another anchor, room, viewer, amount, traceId or time): each detail is moved aside and its
   * anchor share reversed in the ledger, in one DB2 transaction. Settlements that do match are left
   * alone whatever the caller says. Returns the reward ids whose settlement was taken back.
   */
  voidSettlements(rechargeIds: readonly number[], reason: string): Promise<{ voided: number[] }>;
}
