import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * Live-room management: a session's totals, stored once its late rewards can no longer arrive, and
 * the indexes behind the anchor module's new lists.
 *
 * - `live_session.total_earnings` / `recharge_count`: the sum and count (fen) of the reward rows
 *   of the session, written by the `live-session-totals` job once the session ended more than
 *   SESSION_SETTLE_MS ago; `totals_settled_at` says they are final. Until then a read computes
 *   them from the reward rows (a reward judged just before the stop may commit just after it).
 * - `idx_live_session_settle` (totals_settled_at, ended_at): the job's "ended, not yet settled" scan.
 * - `idx_live_room_category` (category, status, id): the room list filtered by category.
 *
 * The other lists use indexes that exist already: anchors by `idx_anchor_status` (status, + id),
 * rooms by `idx_live_room_status` / `idx_live_room_anchor`, sessions by `idx_live_session_room`
 * (live_room_id, started_at).
 */
export const liveRoomManagement: Migration = {
  name: '009_live_room_management',
  async up(db: Knex) {
    await db.schema.alterTable('live_session', (t) => {
      t.bigInteger('total_earnings').nullable();
      t.bigInteger('recharge_count').nullable();
      t.datetime('totals_settled_at', { precision: 3 }).nullable();
      t.index(['totals_settled_at', 'ended_at'], 'idx_live_session_settle');
    });
    await db.schema.alterTable('live_room', (t) => {
      t.index(['category', 'status', 'id'], 'idx_live_room_category');
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('live_room', (t) => {
      t.dropIndex(['category', 'status', 'id'], 'idx_live_room_category');
    });
    await db.schema.alterTable('live_session', (t) => {
      t.dropIndex(['totals_settled_at', 'ended_at'], 'idx_live_session_settle');
      t.dropColumn('total_earnings');
      t.dropColumn('recharge_count');
      t.dropColumn('totals_settled_at');
    });
  },
};
