import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * A floor under each room's realtime journal, so the journal can be pruned: every reward of the
 * room with id <= `journal_floor_id` is counted in `floor_count` / `floor_earnings` (and so in the
 * row) and has no journal line any more; a reward at or below the floor is "already counted".
 * The row always equals the floor plus its journal.
 */
export const journalFloor: Migration = {
  name: '004_journal_floor',
  async up(db: Knex) {
    await db.schema.alterTable('live_room_realtime', (t) => {
      t.bigInteger('journal_floor_id').notNullable().defaultTo(0);
      t.bigInteger('floor_count').notNullable().defaultTo(0);
      t.bigInteger('floor_earnings').notNullable().defaultTo(0);
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('live_room_realtime', (t) => {
      t.dropColumn('journal_floor_id');
      t.dropColumn('floor_count');
      t.dropColumn('floor_earnings');
    });
  },
};
