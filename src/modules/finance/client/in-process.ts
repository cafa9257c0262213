import type { FinanceServiceClient } from '../contract';
import type { createFinanceAudit } from '../settlement/finance-audit.service';
import type { SettlementRepair } from '../settlement/settlement-repair.service';
import type { SettlementService } from '../settlement/settlement.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessFinanceClient(
  settlement: SettlementService,
  audit: ReturnType<typeof createFinanceAudit>,
  repair: SettlementRepair,
): FinanceServiceClient {
  return {
    batchSync: (command) => settlement.batchSync(command),
    settledTotalsByAnchor: (upTo) => audit.settledTotalsByAnchor(upTo),
    balanceMismatches: () => audit.balanceMismatches(),
    settledRecords: (query) => repair.settledRecords(query),
    voidSettlements: (rechargeIds, reason) => repair.voidSettlements(rechargeIds, reason),
  };
}
