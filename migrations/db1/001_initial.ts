import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * DB1: the anchor module's tables (anchor, live_room, live_session, live_room_realtime) and the
 * audience module's (audience, recharge). No foreign keys across module boundaries: each module
 * must be able to move to its own database.
 */
export const initialDb1: Migration = {
  name: '001_initial',
  async up(db: Knex) {
    await db.schema.createTable('anchor', (t) => {
      t.bigIncrements('id').primary();
      t.string('name', 64).notNullable();
      t.string('avatar_url', 512).nullable();
      t.string('status', 16).notNullable().defaultTo('ACTIVE');
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.datetime('updated_at', { precision: 3 }).notNullable();
      t.datetime('deleted_at', { precision: 3 }).nullable();
      t.index(['status'], 'idx_anchor_status');
    });

    await db.schema.createTable('live_room', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('anchor_id').unsigned().notNullable().references('id').inTable('anchor');
      t.string('title', 128).notNullable();
      t.string('category', 64).nullable();
      t.string('cover_url', 512).nullable();
      t.string('status', 16).notNullable().defaultTo('IDLE');
      t.bigInteger('current_session_id').unsigned().nullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.datetime('updated_at', { precision: 3 }).notNullable();
      t.index(['anchor_id'], 'idx_live_room_anchor');
      t.index(['status'], 'idx_live_room_status');
    });

    await db.schema.createTable('live_session', (t) => {
      t.bigIncrements('id').primary();
      t.bigInteger('live_room_id').unsigned().notNullable().references('id').inTable('live_room');
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.datetime('started_at', { precision: 3 }).notNullable();
      t.datetime('ended_at', { precision: 3 }).nullable();
      t.index(['live_room_id', 'started_at'], 'idx_live_session_room');
    });

    // The flushed absolute figures of a room; Redis holds only the pending delta on top.
    await db.schema.createTable('live_room_realtime', (t) => {
      t.bigInteger('live_room_id').unsigned().primary().references('id').inTable('live_room');
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.bigInteger('total_earnings').notNullable().defaultTo(0);
      t.bigInteger('recharge_count').notNullable().defaultTo(0);
      t.datetime('updated_at', { precision: 3 }).notNullable();
    });

    await db.schema.createTable('audience', (t) => {
      t.bigIncrements('id').primary();
      t.string('nickname', 64).notNullable();
      t.string('status', 16).notNullable().defaultTo('ACTIVE');
      t.bigInteger('total_amount').notNullable().defaultTo(0);
      t.bigInteger('reward_count').notNullable().defaultTo(0);
      t.datetime('last_reward_at', { precision: 3 }).nullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.datetime('updated_at', { precision: 3 }).notNullable();
    });

    // A reward. The PENDING rows are the queue for the finance sync.
    await db.schema.createTable('recharge', (t) => {
      t.bigIncrements('id').primary();
      t.string('trace_id', 64).notNullable();
      t.bigInteger('audience_id').unsigned().notNullable();
      t.bigInteger('live_room_id').unsigned().notNullable();
      t.bigInteger('anchor_id').unsigned().notNullable();
      t.bigInteger('live_session_id').unsigned().nullable();
      t.bigInteger('amount').notNullable();
      t.string('gift_name', 64).nullable();
      t.string('message', 255).nullable();
      t.string('sync_status', 16).notNullable().defaultTo('PENDING');
      t.string('sync_batch_id', 64).nullable();
      t.datetime('sync_claimed_until', { precision: 3 }).nullable();
      t.datetime('synced_at', { precision: 3 }).nullable();
      t.datetime('created_at', { precision: 3 }).notNullable();
      t.unique(['trace_id'], { indexName: 'uk_recharge_trace_id' });
      t.index(['sync_status', 'id'], 'idx_recharge_sync');
      t.index(['live_room_id', 'created_at'], 'idx_recharge_room_time');
      t.index(['anchor_id', 'created_at'], 'idx_recharge_anchor_time');
      t.index(['audience_id', 'created_at'], 'idx_recharge_audience_time');
      t.index(['live_session_id'], 'idx_recharge_session');
      t.index(['created_at'], 'idx_recharge_time');
    });
  },
  async down(db: Knex) {
    for (const table of ['recharge', 'audience', 'live_room_realtime', 'live_session', 'live_room', 'anchor']) {
      await db.schema.dropTableIfExists(table);
    }
  },
};
