import { z } from 'zod';
import { idField, isoTime, moneyIn, moneyOut } from '../../../shared/http/schemas';
import { formatFen } from '../../../shared/money';
import type { WithdrawalDto } from '../contract';
import { WITHDRAWAL_STATUSES } from './withdrawals.repository';

/** A client's key for one request: retried with the same key and amount, it answers the first withdrawal. */
export const requestIdField = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -')
  .meta({ example: 'WD-20260102-0001' });

export const withdrawalAmount = moneyIn();

export const applyBody = z
  .strictObject({ anchorId: idField, amount: withdrawalAmount, requestId: requestIdField })
  .meta({ id: 'ApplyWithdrawalRequest' });

export const appliedSchema = z
  .object({
    withdrawalId: z.number().int(),
    anchorId: z.number().int(),
    amount: moneyOut,
    status: z.enum(WITHDRAWAL_STATUSES),
    createdAt: isoTime,
  })
  .meta({ id: 'AppliedWithdrawal' });

export const withdrawalSchema = z
  .object({
    withdrawalId: z.number().int(),
    anchorId: z.number().int(),
    amount: moneyOut,
    status: z.enum(WITHDRAWAL_STATUSES),
    requestId: z.string(),
    createdAt: isoTime,
    updatedAt: isoTime,
    reason: z.string().optional().meta({ description: 'Why it was rejected (REJECTED only).' }),
  })
  .meta({ id: 'Withdrawal' });

export const statusFilter = z.enum(WITHDRAWAL_STATUSES).optional();

/** The apply answer: API.md's core shape. */
export function appliedOut(w: WithdrawalDto) {
  return { withdrawalId: w.withdrawalId, anchorId: w.anchorId, amount: formatFen(w.amountFen), status: w.status, createdAt: w.createdAt };
}

export function withdrawalOut(w: WithdrawalDto) {
  return {
    withdrawalId: w.withdrawalId,
    anchorId: w.anchorId,
    amount: formatFen(w.amountFen),
    status: w.status,
    requestId: w.requestId,
    createdAt: w.createdAt,
    updatedAt: w.updatedAt,
    ...(w.reason === null ? {} : { reason: w.reason }),
  };
}

export const APPLY_DESCRIPTION =
  'Moves `amount` from available to frozen, in one transaction with the balance row locked, and books it in the ledger. ' +
  '409 INSUFFICIENT_BALANCE when available is smaller (or below zero after a refund), WITHDRAWAL_BELOW_MINIMUM under `WITHDRAWAL_MIN_AMOUNT`, ' +
  'TOO_MANY_OPEN_WITHDRAWALS at `WITHDRAWAL_MAX_OPEN` requests PENDING or APPROVED, DAILY_WITHDRAWAL_LIMIT past `WITHDRAWAL_DAILY_CAP` per day in TIME_ZONE. ' +
  'The same `requestId` with the same amount → 200 the same withdrawal with `Idempotent-Replayed: true`; another amount → 409 IDEMPOTENCY_CONFLICT.';
