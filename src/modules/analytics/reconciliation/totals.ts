import { formatFen } from '../../../shared/money';
import type { RewardTotals } from '../../audience/contract';

/** Count and amount as a report shows them. */
export interface TotalsView {
  count: number;
  amount: string;
}

export const ZERO: RewardTotals = { count: 0, amountFen: 0 };

export const view = (t: RewardTotals): TotalsView => ({ count: t.count, amount: formatFen(t.amountFen) });

export function sameTotals(a: RewardTotals, b: RewardTotals): boolean {
  return a.count === b.count && a.amountFen === b.amountFen;
}
