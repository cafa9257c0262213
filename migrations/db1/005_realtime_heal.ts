import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * `flush_wanted_at`: set when a reward went straight to DB1 because its Redis apply failed. The
 * failed apply may still run in Redis later (a frozen Redis thawing), and then the room would show
 * that reward twice; the heal job flushes such a room against its journal as soon as Redis answers,
 * and clears the mark if nothing newer set it meanwhile. Kept in DB1, so any instance heals it even
 * when the one that set it died.
 */
export const realtimeHeal: Migration = {
  name: '005_realtime_heal',
  async up(db: Knex) {
    await db.schema.alterTable('live_room_realtime', (t) => {
      t.datetime('flush_wanted_at', { precision: 3 }).nullable();
      t.index(['flush_wanted_at'], 'idx_live_room_realtime_flush_wanted');
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('live_room_realtime', (t) => {
      t.dropIndex(['flush_wanted_at'], 'idx_live_room_realtime_flush_wanted');
      t.dropColumn('flush_wanted_at');
    });
  },
};
