import { AppError } from '../../../shared/http/app-error';
import type { BatchSyncResult } from '../../finance/contract';
import type { RechargeRow } from '../rewards/rewards.repository';

/** A reward finance refused when it was sent alone, and why. */
export interface RefusedReward {
  row: RechargeRow;
  reason: string;
}

/** What the sends of one claimed batch came to so far (kept when a send fails half way). */
export interface BisectOutcome {
  /** Rewards finance holds: settled by these sends or before them (duplicates). */
  settled: RechargeRow[];
  refused: RefusedReward[];
  accepted: number;
  duplicates: number;
  /** Calls made to finance. */
  sends: number;
}

/**
 * Finance's answer about the records themselves (a 4xx): it will not settle some record as sent.
 * Not a refusal: unavailability and timeouts (5xx), and 401/403/408/429, which say nothing about a
 * record and would otherwise quarantine the whole queue over a wrong token or a busy moment.
 */
export function isRefusal(error: unknown): error is AppError {
  return error instanceof AppError && error.status >= 400 && error.status < 500 && ![401, 403, 408, 429].includes(error.status);
}

/** One line for an operator: status, code, and the fields finance named (`records[0].amount: differs from the stored reward`). */
export function refusalReason(error: AppError): string {
  const fields = (error.errors ?? []).map((problem) => `${problem.field}: ${problem.message}`).join('; ');
  return `${error.status} ${error.code}${fields ? ` (${fields})` : `: ${error.detail}`}`.slice(0, 255);
}

export function emptyOutcome(): BisectOutcome {
  return { settled: [], refused: [], accepted: 0, duplicates: 0, sends: 0 };
}

/**
 * Sends `rows` to finance as one batch; when finance refuses it, sends each half on its own, down to
 * single rewards, so every reward finance takes is settled and each one it refuses is named — with
 * k refused rewards among n, about 2·k·log2(n) calls instead of n. Finance refuses a batch whole
 * and settles nothing of it, and is idempotent per reward, so any split is safe. A failure that is
 * not a refusal (finance or DB2 unavailable, a timeout) is thrown at once: it says nothing about the
 * records. `outcome` holds what was done before it, for the caller to confirm.
 */
export async function sendBisectingRefusals(
  rows: readonly RechargeRow[],
  send: (rows: readonly RechargeRow[]) => Promise<BatchSyncResult>,
  outcome: BisectOutcome,
): Promise<void> {
  if (rows.length === 0) return;
  let result: BatchSyncResult;
  try {
    outcome.sends += 1;
    result = await send(rows);
  } catch (error) {
    if (!isRefusal(error)) throw error;
    if (rows.length === 1) {
      outcome.refused.push({ row: rows[0] as RechargeRow, reason: refusalReason(error) });
      return;
    }
    const half = Math.ceil(rows.length / 2);
    await sendBisectingRefusals(rows.slice(0, half), send, outcome);
    await sendBisectingRefusals(rows.slice(half), send, outcome);
    return;
  }
  outcome.settled.push(...rows);
  outcome.accepted += result.accepted;
  outcome.duplicates += result.duplicates;
}
