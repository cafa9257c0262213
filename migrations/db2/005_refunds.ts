import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * Finance's record of each refunded reward, one row per reward whichever came first:
 * - refunded after it was settled: its detail moved to `settlement_detail_void` (`detail_void_id`)
 *   and its anchor share taken back by a REVERSAL line (`reversed_amount`);
 * - refunded before: the row alone, and the batch-sync never settles that reward (it reads these
 *   rows under the anchor's balance lock, the lock the refund takes first).
 */
export const refundsDb2: Migration = {
  name: '005_refunds',
  async up(db: Knex) {
    await db.schema.createTable('settlement_refund', (t) => {
      t.bigInteger('recharge_id').unsigned().primary();
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.bigInteger('amount').notNullable();
      t.bigInteger('reversed_amount').notNullable();
      t.bigInteger('detail_void_id').unsigned().nullable();
      t.string('reason', 255).notNullable();
      t.string('trace_id', 64).nullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.index(['anchor_id', 'created_at'], 'idx_settlement_refund_anchor');
    });
  },
  async down(db: Knex) {
    await db.schema.dropTableIfExists('settlement_refund');
  },
};
