import type { ModuleSurface } from '../../shared/module';

/**
 * Commission rates, settlement, anchor balances and withdrawals (DB2). Its tables are created by
 * migrations/db2; the endpoints arrive with the reward flow.
 */
export function createFinanceModule(): ModuleSurface {
  return {
    name: 'finance',
    routes: [],
    health: { path: '/finance/actuator/health', requires: ['db2'] },
    jobs: [],
  };
}
