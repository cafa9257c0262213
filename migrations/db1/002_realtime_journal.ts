import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * Exactly-once realtime figures. `live_room_applied_reward` is the anchor module's journal of every
 * reward it has counted into `live_room_realtime` (one row per rechargeId), so a reward that reached
 * both Redis and the database fallback, or was re-sent, is counted once. `last_flush_id` marks the
 * last Redis delta folded into the row, so a flush re-run after a crash is recognised and skipped.
 */
export const realtimeJournal: Migration = {
  name: '002_realtime_journal',
  async up(db: Knex) {
    await db.schema.alterTable('live_room_realtime', (t) => {
      t.bigInteger('last_flush_id').notNullable().defaultTo(0);
    });
    await db.schema.createTable('live_room_applied_reward', (t) => {
      t.bigInteger('recharge_id').unsigned().primary();
      t.bigInteger('live_room_id').unsigned().notNullable();
      t.bigInteger('amount').notNullable();
      // The Redis flush that brought it in; null when it was written straight to the database.
      t.bigInteger('flush_id').nullable();
      t.datetime('applied_at', { precision: 3 }).notNullable();
      t.index(['live_room_id', 'recharge_id'], 'idx_applied_reward_room');
    });
  },
  async down(db: Knex) {
    await db.schema.dropTableIfExists('live_room_applied_reward');
    await db.schema.alterTable('live_room_realtime', (t) => {
      t.dropColumn('last_flush_id');
    });
  },
};
