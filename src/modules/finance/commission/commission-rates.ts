import { fromDbTime } from '../../../shared/db/time';
import type { CommissionRateRow } from './commission.repository';

/**
 * Picks, for a reward at `at`, the rate in force then: the anchor's latest rate with
 * effective_from <= at, else the default. `rows` are one anchor's rates, newest first.
 */
export function rateInForce(rows: readonly CommissionRateRow[], at: Date, defaultBp: number): number {
  const time = at.getTime();
  for (const row of rows) {
    if (fromDbTime(row.effective_from).getTime() <= time) return row.rate_bp;
  }
  return defaultBp;
}

/** Groups rates by anchor, keeping each group's newest-first order. */
export function ratesByAnchor(rows: readonly CommissionRateRow[]): Map<number, CommissionRateRow[]> {
  const out = new Map<number, CommissionRateRow[]>();
  for (const row of rows) {
    const list = out.get(row.anchor_id) ?? [];
    list.push(row);
    out.set(row.anchor_id, list);
  }
  return out;
}
