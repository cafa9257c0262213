import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/** DB2: the finance module's tables. Money in fen (BIGINT), rates in basis points. */
export const initialDb2: Migration = {
  name: '001_initial',
  async up(db: Knex) {
    // Effective-dated: the rate in force at time T is the latest row with effective_from <= T.
    await db.schema.createTable('commission_rate', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.integer('rate_bp').notNullable();
      t.datetime('effective_from', { precision: 3 }).notNullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.index(['anchor_id', 'effective_from'], 'idx_commission_rate_anchor_from');
    });

    await db.schema.createTable('anchor_balance', (t) => {
      t.bigInteger('anchor_id').unsigned().primary();
      t.bigInteger('available').notNullable().defaultTo(0);
      t.bigInteger('frozen').notNullable().defaultTo(0);
      t.bigInteger('total_income').notNullable().defaultTo(0);
      t.bigInteger('total_withdrawn').notNullable().defaultTo(0);
      t.datetime('updated_at', { precision: 3 }).notNullable();
    });

    // Append-only journal: every change to a balance, with the balance after it.
    await db.schema.createTable('balance_ledger', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.string('entry_type', 32).notNullable();
      t.bigInteger('available_delta').notNullable();
      t.bigInteger('frozen_delta').notNullable();
      t.bigInteger('available_after').notNullable();
      t.bigInteger('frozen_after').notNullable();
      t.string('ref_type', 32).notNullable();
      t.bigInteger('ref_id').unsigned().notNullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.unique(['entry_type', 'ref_type', 'ref_id'], { indexName: 'uk_balance_ledger_ref' });
      t.index(['anchor_id', 'id'], 'idx_balance_ledger_anchor');
    });

    await db.schema.createTable('settlement', (t) => {
      t.bigIncrements('id').primary();
      t.string('batch_id', 64).notNullable();
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.integer('record_count').notNullable();
      t.bigInteger('total_amount').notNullable();
      t.bigInteger('anchor_amount').notNullable();
      t.bigInteger('platform_amount').notNullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.unique(['batch_id', 'anchor_id'], { indexName: 'uk_settlement_batch_anchor' });
      t.index(['anchor_id', 'created_at'], 'idx_settlement_anchor_time');
      t.index(['created_at'], 'idx_settlement_time');
    });

    await db.schema.createTable('settlement_detail', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('settlement_id').unsigned().notNullable().references('id').inTable('settlement');
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
      t.unique(['recharge_id'], { indexName: 'uk_settlement_detail_recharge' });
      t.index(['settlement_id'], 'idx_settlement_detail_settlement');
      t.index(['anchor_id', 'recharge_created_at'], 'idx_settlement_detail_anchor_time');
    });

    await db.schema.createTable('withdrawal', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.string('request_id', 64).notNullable();
      t.bigInteger('amount').notNullable();
      t.string('status', 16).notNullable().defaultTo('PENDING');
      t.string('reject_reason', 255).nullable();
      t.bigInteger('reviewed_by').unsigned().nullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.datetime('updated_at', { precision: 3 }).notNullable();
      t.datetime('reviewed_at', { precision: 3 }).nullable();
      t.datetime('paid_at', { precision: 3 }).nullable();
      t.unique(['anchor_id', 'request_id'], { indexName: 'uk_withdrawal_request' });
      t.index(['status', 'created_at'], 'idx_withdrawal_status_time');
      t.index(['anchor_id', 'created_at'], 'idx_withdrawal_anchor_time');
    });
  },
  async down(db: Knex) {
    for (const table of ['withdrawal', 'settlement_detail', 'settlement', 'balance_ledger', 'anchor_balance', 'commission_rate']) {
      await db.schema.dropTableIfExists(table);
    }
  },
};
