import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * Covering indexes for the anchor insights (stats, top supporters, the earnings ranking), so each is
 * a GROUP BY read from one index without touching the reward rows:
 * - `idx_recharge_anchor_viewer` (anchor_id, audience_id, created_at, amount): an anchor's rewards
 *   grouped by viewer in index order — its stats (distinct supporters), its top supporters of all
 *   time, the probe "did this viewer reward this anchor before `from`" of the supporter summary, and
 *   the all-time ranking of anchors (a scan in anchor order, no temporary table).
 * - `idx_recharge_time_anchor` (created_at, anchor_id, amount): the rewards of a period, for the
 *   ranking of anchors by earnings in a day, week or month.
 * Two more entries per reward on the hot path; the period queries of one anchor or one room use the
 * existing (anchor_id, created_at) and (live_room_id, created_at) indexes.
 */
export const rewardAggregateIndexes: Migration = {
  name: '013_reward_aggregate_indexes',
  async up(db: Knex) {
    await db.schema.alterTable('recharge', (t) => {
      t.index(['anchor_id', 'audience_id', 'created_at', 'amount'], 'idx_recharge_anchor_viewer');
      t.index(['created_at', 'anchor_id', 'amount'], 'idx_recharge_time_anchor');
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('recharge', (t) => {
      t.dropIndex([], 'idx_recharge_anchor_viewer');
      t.dropIndex([], 'idx_recharge_time_anchor');
    });
  },
};
