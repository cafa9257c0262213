import type { FinanceServiceClient } from '../contract';
import type { SettlementService } from '../settlement/settlement.service';

/** The contract served by calling the module's services directly (same process). */
export function createInProcessFinanceClient(settlement: SettlementService): FinanceServiceClient {
  return {
    batchSync: (command) => settlement.batchSync(command),
  };
}
