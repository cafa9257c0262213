import type { BalancesService } from '../balances/balances.service';
import type { CommissionService } from '../commission/commission.service';
import type { FinanceServiceClient } from '../contract';
import type { createFinanceAudit } from '../settlement/finance-audit.service';
import type { SettlementRepair } from '../settlement/settlement-repair.service';
import type { SettlementQueries } from '../settlement/settlement-queries';
import type { Refunds } from '../settlement/refunds';
import type { SettlementService } from '../settlement/settlement.service';
import type { WithdrawalsService } from '../withdrawals/withdrawals.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessFinanceClient(
  settlement: SettlementService,
  audit: ReturnType<typeof createFinanceAudit>,
  repair: SettlementRepair,
  balances: BalancesService,
  commission: CommissionService,
  withdrawals: WithdrawalsService,
  settlements: SettlementQueries,
  refunds: Refunds,
): FinanceServiceClient {
  return {
    batchSync: (command) => settlement.batchSync(command),
    settledTotalsByAnchor: (upTo) => audit.settledTotalsByAnchor(upTo),
    balanceMismatches: () => audit.balanceMismatches(),
    settledRecords: (query) => repair.settledRecords(query),
    voidSettlements: (rechargeIds, reason) => repair.voidSettlements(rechargeIds, reason),
    anchorBalance: (anchorId) => balances.anchorBalance(anchorId),
    effectiveRate: (anchorId) => commission.effectiveRate(anchorId),
    rateHistory: (anchorId, paging) => commission.history(anchorId, paging),
    applyWithdrawal: (command) => withdrawals.apply(command),
    listWithdrawals: (query) => withdrawals.list(query),
    cancelWithdrawal: (anchorId, withdrawalId) => withdrawals.cancel(anchorId, withdrawalId),
    refundReward: (command) => refunds.refundReward(command),
    settledBetween: (from, to) => settlements.settledBetween(new Date(from), new Date(to)),
  };
}
