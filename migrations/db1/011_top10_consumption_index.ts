import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * `idx_audience_total_amount`: the platform's all-time TOP10 is the viewers' consumption totals
 * (kept in each reward's own transaction), read as the ten largest over this index and never as a
 * GROUP BY over every reward ever stored.
 */
export const top10ConsumptionIndex: Migration = {
  name: '011_top10_consumption_index',
  async up(db: Knex) {
    await db.schema.alterTable('audience', (t) => {
      t.index(['total_amount'], 'idx_audience_total_amount');
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('audience', (t) => {
      t.dropIndex(['total_amount'], 'idx_audience_total_amount');
    });
  },
};
