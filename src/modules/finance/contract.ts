/**
 * The finance module's published face. Mirrors:
 * POST /finance/api/v1/recharge/batch-sync (internal, service role).
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

export interface FinanceServiceClient {
  /** Settles each record not yet settled, in one DB2 transaction; idempotent per rechargeId. */
  batchSync(command: BatchSyncCommand): Promise<BatchSyncResult>;
}
