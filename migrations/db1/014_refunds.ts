import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * Refunds, kept beside the reward table instead of in it (no ALTER of the largest table, and every
 * aggregate over it stays an index read plus a primary-key probe of this table: a LEFT JOIN … IS NULL,
 * which MariaDB runs as one eq_ref lookup per reward, where NOT EXISTS would be materialized whole):
 * - `recharge_refund`: one row per refunded reward — the reward reads `status: "REFUNDED"` while its
 *   row is here. Written in the DB1 transaction that takes the reward out of its viewer's
 *   consumption and daily total, and out of the sync's queue when the sync had not taken it
 *   (`sync_status` REFUNDED: it is never sent to finance). `done_at` stays null until the effects
 *   outside that transaction (the room's realtime figures, the TOP10 boards in Redis, finance's
 *   record of the refund) are all confirmed; the `refund-effects` job retries them until then
 *   (`idx_recharge_refund_done`).
 * - `live_room_refunded_reward`: the anchor module's journal of refunds it took out of a room's
 *   figures, one row per reward, so a refund is taken out once however often it is delivered. A
 *   room's figures are its floor plus its journal of rewards minus these lines.
 */
export const refunds: Migration = {
  name: '014_refunds',
  async up(db: Knex) {
    // No column shares a name with one of `recharge`: the anti-join leaves every column of the reward queries unambiguous.
    await db.schema.createTable('recharge_refund', (t) => {
      t.bigInteger('recharge_id').unsigned().primary();
      t.string('reason', 255).notNullable();
      t.string('refunded_by', 64).notNullable();
      t.string('refund_trace_id', 64).nullable();
      t.datetime('refunded_at', { precision: 3 }).notNullable();
      // Each effect outside the refund's transaction, when last confirmed: the job redoes the room's and
      // the boards' once after the settle delay, and retries only what has not succeeded since.
      t.datetime('room_done_at', { precision: 3 }).nullable();
      t.datetime('boards_done_at', { precision: 3 }).nullable();
      t.datetime('finance_done_at', { precision: 3 }).nullable();
      t.datetime('done_at', { precision: 3 }).nullable();
      t.index(['done_at', 'refunded_at'], 'idx_recharge_refund_done');
    });
    await db.schema.createTable('live_room_refunded_reward', (t) => {
      t.bigInteger('recharge_id').unsigned().primary();
      t.bigInteger('live_room_id').unsigned().notNullable();
      t.bigInteger('amount').notNullable();
      t.datetime('applied_at', { precision: 3 }).notNullable();
      t.index(['live_room_id', 'recharge_id'], 'idx_refunded_reward_room');
    });
  },
  async down(db: Knex) {
    await db.schema.dropTableIfExists('live_room_refunded_reward');
    await db.schema.dropTableIfExists('recharge_refund');
  },
};
