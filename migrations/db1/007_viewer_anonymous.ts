import type { Knex } from 'knex';
import type { Migration } from '../../src/shared/db/migrate';

/**
 * `anonymous`: a viewer who asked to stay unnamed appears in leaderboards and in live-room events
 * with `audienceId: null` and `nickname: null`. Kept on the viewer, so changing it changes every
 * board at once without touching a reward row.
 */
export const viewerAnonymous: Migration = {
  name: '007_viewer_anonymous',
  async up(db: Knex) {
    await db.schema.alterTable('audience', (t) => {
      t.boolean('anonymous').notNullable().defaultTo(false);
    });
  },
  async down(db: Knex) {
    await db.schema.alterTable('audience', (t) => {
      t.dropColumn('anonymous');
    });
  },
};
