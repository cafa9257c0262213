import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * `idx_recharge_time` grows from (created_at) to (created_at, audience_id, amount), under the same
 * name: the platform-wide reads of a time range — the analytics overview (sum, count, distinct
 * paying viewers) and trend, the platform TOP10's rebuilds and catch-ups — become reads of that one
 * index, never of the reward rows. No index is added to the reward's insert path.
 */
export const timeViewerIndex: Migration = {
  name: '015_time_viewer_index',
  async up(db: Knex) {
    await db.schema.alterTable('recharge', (t) => {
      t.dropIndex([], 'idx_recharge_time');
    });
    await db.schema.alterTable('recharge', (t) => {
      t.index(['created_at', 'audience_id', 'amount'], 'idx_recharge_time');
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('recharge', (t) => {
      t.dropIndex([], 'idx_recharge_time');
    });
    await db.schema.alterTable('recharge', (t) => {
      t.index(['created_at'], 'idx_recharge_time');
    });
  },
};
