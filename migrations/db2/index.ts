import type { Migration } from '../../src/shared/db/migrate';
import { initialDb2 } from './001_initial';
import { caseSensitiveKeysDb2 } from './002_case_sensitive_keys';
import { voidedSettlements } from './003_voided_settlements';
import { ledgerTraceAndWithdrawals } from './004_ledger_trace_and_withdrawals';
import { refundsDb2 } from './005_refunds';

/** DB2 migrations in the order they apply. */
export const db2Migrations: readonly Migration[] = [
  initialDb2,
  caseSensitiveKeysDb2,
  voidedSettlements,
  ledgerTraceAndWithdrawals,
  refundsDb2,
];
