import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * What the finance sync remembers of refusals: `sync_refusals` counts the runs in which finance
 * refused the reward on its own (a 4xx for a batch of that one reward; unavailability never counts),
 * `sync_last_refusal` says why, and after SYNC_QUARANTINE_AFTER refusals the reward leaves the queue
 * as QUARANTINED (`sync_quarantined_at`) until an operator puts it back, so it never blocks the rest.
 */
export const syncQuarantine: Migration = {
  name: '006_sync_quarantine',
  async up(db: Knex) {
    await db.schema.alterTable('recharge', (t) => {
      t.integer('sync_refusals').notNullable().defaultTo(0);
      t.string('sync_last_refusal', 255).nullable();
      t.datetime('sync_quarantined_at', { precision: 3 }).nullable();
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('recharge', (t) => {
      t.dropColumn('sync_refusals');
      t.dropColumn('sync_last_refusal');
      t.dropColumn('sync_quarantined_at');
    });
  },
};
