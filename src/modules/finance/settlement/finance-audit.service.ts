import type { Db } from '../../../shared/db/knex';
import { balancesAgainstSettlements } from '../balances/balances.repository';
import type { FinanceServiceClient } from '../contract';
import { settledTotalsByAnchor } from './settlement.repository';

type AuditQueries = Pick<FinanceServiceClient, 'settledTotalsByAnchor' | 'balanceMismatches'>;

/** Finance's side of reconciliation: settled totals, and balances that disagree with their journal's sources. */
export function createFinanceAudit(db: Db): AuditQueries {
  return {
    async settledTotalsByAnchor(upToRechargeId) {
      return (await settledTotalsByAnchor(db, upToRechargeId)).map((r) => ({
        anchorId: r.anchor_id,
        count: Number(r.n),
        amountFen: Number(r.amount ?? 0),
        anchorFen: Number(r.anchor_amount ?? 0),
        platformFen: Number(r.platform_amount ?? 0),
      }));
    },

    async balanceMismatches() {
      const rows = await balancesAgainstSettlements(db);
      return rows
        .map((r) => ({
          anchorId: r.anchor_id,
          settledAnchorFen: Number(r.settled ?? 0),
          totalIncomeFen: r.total_income,
          availableFen: r.available,
          frozenFen: r.frozen,
          withdrawnFen: r.total_withdrawn,
        }))
        .filter((b) => b.totalIncomeFen !== b.settledAnchorFen || b.availableFen + b.frozenFen + b.withdrawnFen !== b.totalIncomeFen);
    },
  };
}
