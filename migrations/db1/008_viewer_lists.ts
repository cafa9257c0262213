import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * The admin's viewer list and the per-viewer daily reward cap.
 *
 * The list reads newest first, optionally of one status, optionally with a part of the nickname.
 * `idx_audience_list` and `idx_audience_status_list` give that order (the status one behind an
 * equality on status), so a page is read walking an index backwards and stopping at the LIMIT.
 * A `LIKE '%kw%'` can seek no index: it filters the entries walked. `nickname` is in the status
 * index so that counting a keyword's matches reads index entries only, never the table; it is not
 * in `idx_audience_list`, which MariaDB then stops using for the order (a wider key looks dearer).
 *
 * `audience_daily_reward` holds what each viewer rewarded per calendar day in TIME_ZONE, for
 * DAILY_REWARD_CAP: a reward's transaction locks its row, checks the cap and adds to it, so the cap
 * holds exactly however many instances write at once. Written only while the cap is on.
 */
export const viewerLists: Migration = {
  name: '008_viewer_lists',
  async up(db: Knex) {
    await db.schema.alterTable('audience', (t) => {
      t.index(['created_at', 'id'], 'idx_audience_list');
      t.index(['status', 'created_at', 'id', 'nickname'], 'idx_audience_status_list');
    });
    await db.schema.createTable('audience_daily_reward', (t) => {
      t.bigInteger('audience_id').unsigned().notNullable();
      t.date('reward_day').notNullable();
      t.bigInteger('amount').notNullable().defaultTo(0);
      t.primary(['audience_id', 'reward_day']);
    });
  },
  async down(db: Knex) {
    await db.schema.dropTable('audience_daily_reward');
    await db.schema.alterTable('audience', (t) => {
      t.dropIndex(['status', 'created_at', 'id', 'nickname'], 'idx_audience_status_list');
      t.dropIndex(['created_at', 'id'], 'idx_audience_list');
    });
  },
};
