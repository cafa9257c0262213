import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * The ledger line names the request that moved the money (its trace id), so a movement can be
 * followed from the access log to the books; withdrawals get a longer reason field and an index for
 * the "open requests of an anchor" guard.
 */
export const ledgerTraceAndWithdrawals: Migration = {
  name: '004_ledger_trace_and_withdrawals',
  async up(db: Knex) {
    await db.schema.alterTable('balance_ledger', (t) => {
      t.string('trace_id', 64).nullable();
    });
    await db.schema.alterTable('withdrawal', (t) => {
      t.index(['anchor_id', 'status'], 'idx_withdrawal_anchor_status');
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('withdrawal', (t) => {
      t.dropIndex(['anchor_id', 'status'], 'idx_withdrawal_anchor_status');
    });
    await db.schema.alterTable('balance_ledger', (t) => {
      t.dropColumn('trace_id');
    });
  },
};
