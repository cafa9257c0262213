import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * Settlement details that reconciliation found not to match a stored reward (a forged or broken
 * record): moved here whole, with when and why, so the books keep their history while the UNIQUE
 * recharge id of `settlement_detail` is free again for the real reward. The anchor share it had
 * credited is taken back by a REVERSAL line in `balance_ledger` that points at this row.
 */
export const voidedSettlements: Migration = {
  name: '003_voided_settlements',
  async up(db: Knex) {
    await db.schema.createTable('settlement_detail_void', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('detail_id').unsigned().notNullable();
      t.bigInteger('settlement_id').unsigned().notNullable();
      t.bigInteger('recharge_id').unsigned().notNullable();
      t.string('trace_id', 64).notNullable();
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.bigInteger('live_room_id').unsigned().notNullable();
      t.bigInteger('audience_id').unsigned().notNullable();
      t.bigInteger('amount').notNullable();
      t.integer('rate_bp').notNullable();
      t.bigInteger('anchor_amount').notNullable();
      t.bigInteger('platform_amount').notNullable();
      t.datetime('recharge_created_at', { precision: 3 }).notNullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.string('reason', 255).notNullable();
      t.datetime('voided_at', { precision: 3 }).notNullable();
      t.unique(['detail_id'], { indexName: 'uk_settlement_detail_void_detail' });
      t.index(['recharge_id'], 'idx_settlement_detail_void_recharge');
      t.index(['anchor_id', 'voided_at'], 'idx_settlement_detail_void_anchor');
    });
  },
  async down(db: Knex) {
    await db.schema.dropTableIfExists('settlement_detail_void');
  },
};
