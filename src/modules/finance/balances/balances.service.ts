import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import type { AnchorServiceClient } from '../../anchor/contract';
import type { AnchorBalanceDto } from '../contract';
import { findBalance, incomeSettledAfter, type BalanceRow } from './balances.repository';
import type { Clock } from '../../../shared/module';

export function createBalancesService(deps: { db: Db; clock: Clock; anchors: Pick<AnchorServiceClient, 'getAnchor'>; holdMs: number }) {
  /** Income settled within the hold period: part of available, not yet withdrawable. */
  const pendingOf = (anchorId: number) => incomeSettledAfter(deps.db, anchorId, new Date(deps.clock().getTime() - deps.holdMs));

  /** The balance row in fen; zeros without a row (finance never credited the anchor). */
  async function inFen(anchorId: number, row: BalanceRow | undefined): Promise<AnchorBalanceDto> {
    return {
      anchorId,
      availableFen: row?.available ?? 0,
      frozenFen: row?.frozen ?? 0,
      totalIncomeFen: row?.total_income ?? 0,
      totalWithdrawnFen: row?.total_withdrawn ?? 0,
      ...(deps.holdMs > 0 ? { pendingFen: row ? await pendingOf(anchorId) : 0 } : {}),
    };
  }

  return {
    /** The balance in fen for another module (the anchor module's balance endpoint). Whether the anchor exists is the caller's concern. */
    async anchorBalance(anchorId: number): Promise<AnchorBalanceDto> {
      return inFen(anchorId, await findBalance(deps.db, anchorId));
    },

    /** The anchor's balance; all zeros for an anchor that has not been paid anything yet, 404 for no anchor. */
    async getBalance(principal: Principal | null, anchorId: number): Promise<AnchorBalanceDto> {
      assertMayActFor(principal, { anchorId });
      const row = await findBalance(deps.db, anchorId);
      if (!row && !(await deps.anchors.getAnchor(anchorId))) throw AppError.notFound('ANCHOR_NOT_FOUND', `There is no anchor ${anchorId}.`);
      return inFen(anchorId, row);
    },
  };
}

export type BalancesService = ReturnType<typeof createBalancesService>;
