import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import { formatFen } from '../../../shared/money';
import type { AnchorServiceClient } from '../../anchor/contract';
import { findBalance } from './balances.repository';

export interface BalanceDto {
  anchorId: number;
  available: string;
  frozen: string;
  totalIncome: string;
  totalWithdrawn: string;
}

export function createBalancesService(deps: { db: Db; anchors: Pick<AnchorServiceClient, 'getAnchor'> }) {
  return {
    /** The anchor's balance; all zeros for an anchor that has not been paid anything yet. */
    async getBalance(principal: Principal | null, anchorId: number): Promise<BalanceDto> {
      assertMayActFor(principal, { anchorId });
      const row = await findBalance(deps.db, anchorId);
      if (!row && !(await deps.anchors.getAnchor(anchorId))) throw AppError.notFound('ANCHOR_NOT_FOUND', `There is no anchor ${anchorId}.`);
      return {
        anchorId,
        available: formatFen(row?.available ?? 0),
        frozen: formatFen(row?.frozen ?? 0),
        totalIncome: formatFen(row?.total_income ?? 0),
        totalWithdrawn: formatFen(row?.total_withdrawn ?? 0),
      };
    },
  };
}

export type BalancesService = ReturnType<typeof createBalancesService>;
