import { z } from 'zod';
import { moneyOut } from '../../../shared/http/schemas';
import { formatFen } from '../../../shared/money';
import type { AnchorBalanceDto } from '../contract';

export const balanceSchema = z
  .object({
    anchorId: z.number().int(),
    available: moneyOut,
    frozen: moneyOut,
    totalIncome: moneyOut,
    totalWithdrawn: moneyOut,
    pending: moneyOut
      .optional()
      .meta({ description: 'Only with INCOME_HOLD_MS: the part of available settled too recently to be withdrawn.' }),
  })
  .meta({ id: 'AnchorBalance' });

/** The contract's fen as API.md's balance; `pending` only when a hold period is set. */
export function balanceOut(balance: AnchorBalanceDto) {
  return {
    anchorId: balance.anchorId,
    available: formatFen(balance.availableFen),
    frozen: formatFen(balance.frozenFen),
    totalIncome: formatFen(balance.totalIncomeFen),
    totalWithdrawn: formatFen(balance.totalWithdrawnFen),
    ...(balance.pendingFen === undefined ? {} : { pending: formatFen(balance.pendingFen) }),
  };
}
