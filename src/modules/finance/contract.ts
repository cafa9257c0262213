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
  /** Records already settled earlier (by recharge id), or refunded: ignored, never settled twice nor after a refund. */
  duplicates: number;
}

/** A refunded reward, as the audience module tells finance of it. */
export interface RefundCommand {
  rechargeId: number;
  anchorId: number;
  amountFen: number;
  reason: string;
}

/** What finance did with a refund: reversed the anchor share when the reward was settled; else it never settles it. */
export interface FinanceRefundDto {
  rechargeId: number;
  anchorId: number;
  amountFen: number;
  /** Whether the reward had been settled when the refund reached finance. */
  wasSettled: boolean;
  /** The anchor share taken back from available and total income (0 when it was never settled). */
  reversedFen: number;
  /** ISO 8601 UTC: when finance booked the refund. */
  refundedAt: string;
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

/** An anchor's balance in fen; mirrors GET /finance/api/v1/balances/{anchorId}. */
export interface AnchorBalanceDto {
  anchorId: number;
  availableFen: number;
  frozenFen: number;
  totalIncomeFen: number;
  totalWithdrawnFen: number;
  /** Only with a hold period (INCOME_HOLD_MS): the part of available settled too recently to be withdrawn. */
  pendingFen?: number;
}

/** A withdrawal request; mirrors GET /finance/api/v1/withdrawals/{withdrawalId} with the amount in fen. */
export interface WithdrawalDto {
  withdrawalId: number;
  anchorId: number;
  amountFen: number;
  status: 'PENDING' | 'APPROVED' | 'REJECTED' | 'PAID' | 'CANCELLED';
  requestId: string;
  createdAt: string;
  updatedAt: string;
  /** Why it was rejected; null otherwise. */
  reason: string | null;
}

export interface Page<T> {
  items: T[];
  page: number;
  pageSize: number;
  total: number;
}

/** A commission rate as stored (the anchor's share in basis points); mirrors the POST /commission-rates answer. */
export interface CommissionRateDto {
  rateId: number;
  anchorId: number;
  rateBp: number;
  effectiveFrom: string;
  createdAt: string;
}

/** The rate that applies to an anchor's rewards now; mirrors GET /finance/api/v1/commission-rates/{anchorId}. */
export interface EffectiveRateDto {
  anchorId: number;
  rateBp: number;
  source: 'anchor' | 'default';
  /** Null for the default. */
  effectiveFrom: string | null;
}

/** One anchor's settled rewards of a time span (by the rewards' createdAt), in fen. */
export interface SettledDayTotalsDto {
  anchorId: number;
  count: number;
  amountFen: number;
  anchorFen: number;
  platformFen: number;
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
  /** The anchor's balance; all zeros when finance has never credited it. Whether the anchor exists is the caller's concern. */
  anchorBalance(anchorId: number): Promise<AnchorBalanceDto>;
  /** The rate in force for the anchor now, its own or the default. Whether the anchor exists is the caller's concern. */
  effectiveRate(anchorId: number): Promise<EffectiveRateDto>;
  /** The anchor's rates, newest effectiveFrom first, those not yet in force included. */
  rateHistory(anchorId: number, paging: { page: number; pageSize: number }): Promise<Page<CommissionRateDto>>;
  /**
   * Freezes `amountFen` of the anchor's available balance for a new PENDING withdrawal; idempotent on
   * (anchorId, requestId): the same content again answers the first withdrawal with `replayed`.
   * 409 INSUFFICIENT_BALANCE, WITHDRAWAL_BELOW_MINIMUM, TOO_MANY_OPEN_WITHDRAWALS, DAILY_WITHDRAWAL_LIMIT, IDEMPOTENCY_CONFLICT.
   */
  applyWithdrawal(command: {
    anchorId: number;
    amountFen: number;
    requestId: string;
  }): Promise<{ withdrawal: WithdrawalDto; replayed: boolean }>;
  /** The anchor's withdrawals (of one status when given), newest first. */
  listWithdrawals(query: {
    anchorId: number;
    status?: WithdrawalDto['status'] | undefined;
    page: number;
    pageSize: number;
  }): Promise<Page<WithdrawalDto>>;
  /** The anchor cancels its PENDING withdrawal: the amount goes back to available. 404 WITHDRAWAL_NOT_FOUND, 409 INVALID_STATE. */
  cancelWithdrawal(anchorId: number, withdrawalId: number): Promise<WithdrawalDto>;
  /**
   * Books a refunded reward, idempotently per rechargeId (a second call answers the first booking):
   * settled → its detail is voided and the anchor share reversed (available may go below zero);
   * not settled → it never will be. Finance checks with the audience module that the reward is refunded
   * (409 REWARD_NOT_REFUNDED otherwise). One DB2 transaction under the anchor's balance lock.
   */
  refundReward(command: RefundCommand): Promise<FinanceRefundDto>;
  /** Per anchor: the settled rewards created in [from, to) (ISO instants); mirrors GET /finance/api/v1/recharge/sync-summary. */
  settledBetween(from: string, to: string): Promise<SettledDayTotalsDto[]>;
}
