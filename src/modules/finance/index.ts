import type { Registry } from 'prom-client';
import type { Db } from '../../shared/db/knex';
import type { Logger } from '../../shared/logger';
import { parseRateToBasisPoints } from '../../shared/money';
import type { Clock, ModuleSurface } from '../../shared/module';
import { guardClient } from '../../shared/resilience';
import type { AnchorServiceClient } from '../anchor/contract';
import type { AudienceServiceClient } from '../audience/contract';
import { balanceRoutes } from './balances/balances.routes';
import { auditLedger, type LedgerAuditReport } from './balances/ledger-audit';
import { createBalancesService } from './balances/balances.service';
import { createInProcessFinanceClient } from './client/in-process';
import { commissionRoutes } from './commission/commission.routes';
import { createCommissionService, type CommissionService } from './commission/commission.service';
import type { FinanceServiceClient } from './contract';
import { createFinanceAudit } from './settlement/finance-audit.service';
import { createRecordCheck } from './settlement/record-check';
import { createRefunds } from './settlement/refunds';
import { createSettlementRepair } from './settlement/settlement-repair.service';
import { settlementRoutes } from './settlement/settlement.routes';
import { createSettlementService } from './settlement/settlement.service';
import { createSettlementQueries } from './settlement/settlement-queries';
import { settlementQueryRoutes } from './settlement/settlement-queries.routes';
import { withdrawalRoutes } from './withdrawals/withdrawals.routes';
import { createWithdrawalsService, type WithdrawalSettings, type WithdrawalsService } from './withdrawals/withdrawals.service';

export type { FinanceServiceClient } from './contract';
export { auditLedger, type LedgerAuditReport } from './balances/ledger-audit';

export interface FinanceModuleDeps {
  db2: Db;
  /** DB2 for reconciliation's whole-table statements (a pool with the long report timeout). */
  reportsDb: Db;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** The anchor module, for "does this anchor exist" (through its contract only). */
  anchors: Pick<AnchorServiceClient, 'getAnchor'>;
  /** The audience module's reward table: what finance checks every settlement record against. */
  rewards: Pick<AudienceServiceClient, 'storedRewards' | 'refundsOf'>;
  settings: { defaultCommissionRate: string; moduleCallTimeoutMs: number; timeZone: string; withdrawals: WithdrawalSettings };
}

/** What operators do from the CLI, through the same services as the HTTP API. */
export interface FinanceOperations {
  withdrawals: Pick<WithdrawalsService, 'list' | 'get' | 'approve' | 'reject' | 'pay'>;
  commission: Pick<CommissionService, 'setRate' | 'ratesInForce'>;
  /** The books checked against themselves (every anchor, or those named): see balances/ledger-audit.ts. */
  audit(options?: { anchorIds?: readonly number[] }): Promise<LedgerAuditReport>;
}

export interface FinanceModule extends ModuleSurface {
  client: FinanceServiceClient;
  operations: FinanceOperations;
}

/** Commission rates, settlement, anchor balances and their journal, withdrawals (DB2). */
export function createFinanceModule(deps: FinanceModuleDeps): FinanceModule {
  const defaultRateBp = parseRateToBasisPoints(deps.settings.defaultCommissionRate);
  if (defaultRateBp === null) throw new Error(`invalid default commission rate ${deps.settings.defaultCommissionRate}`);
  const logger = deps.logger.child({ module: 'finance' });
  const timeoutMs = { default: deps.settings.moduleCallTimeoutMs };
  const anchors = guardClient(deps.anchors, { name: 'anchor', logger, timeoutMs });
  const rewards = guardClient(deps.rewards, { name: 'audience', logger, timeoutMs });
  const records = createRecordCheck({ rewards, registry: deps.registry });
  const refunds = createRefunds({ db: deps.db2, clock: deps.clock, logger, rewards });
  const settlement = createSettlementService({ db: deps.db2, clock: deps.clock, logger, defaultRateBp, records, registry: deps.registry });
  const commission = createCommissionService({ db: deps.db2, clock: deps.clock, anchors, defaultRateBp });
  const settlements = createSettlementQueries({ db: deps.db2, timeZone: deps.settings.timeZone });
  const withdrawals = createWithdrawalsService({ db: deps.db2, clock: deps.clock, logger, anchors, settings: deps.settings.withdrawals });
  const balances = createBalancesService({ db: deps.db2, clock: deps.clock, anchors, holdMs: deps.settings.withdrawals.holdMs });
  return {
    name: 'finance',
    routes: [
      {
        prefix: '/finance/api/v1',
        tag: 'finance',
        routes: [
          ...settlementRoutes(settlement),
          ...settlementQueryRoutes(settlements, deps.settings.timeZone),
          ...commissionRoutes(commission),
          ...balanceRoutes(balances),
          ...withdrawalRoutes(withdrawals),
        ],
      },
    ],
    health: { path: '/finance/actuator/health', requires: ['db2'] },
    operations: { withdrawals, commission, audit: (options) => auditLedger(deps.reportsDb, options) },
    jobs: [],
    client: createInProcessFinanceClient(
      settlement,
      createFinanceAudit(deps.reportsDb),
      createSettlementRepair({ db: deps.reportsDb, clock: deps.clock, logger, records }),
      balances,
      commission,
      withdrawals,
      settlements,
      refunds,
    ),
  };
}
export * as financeShapes from './shapes';
