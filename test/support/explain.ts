import type { Knex } from 'knex';
import type { TestPlatform } from './platform';

/** The DB1 statements a request sends that read the reward or viewer tables (on the request pool, or `db`: the reports pool). */
export async function rewardQueriesOf(
  t: TestPlatform,
  request: () => Promise<unknown>,
  tables = /`recharge`|`audience`/,
  db: Knex = t.db1,
): Promise<Knex.Sql[]> {
  const seen: Knex.Sql[] = [];
  const listener = (query: Knex.Sql) => {
    if (tables.test(query.sql)) seen.push(query);
  };
  db.on('query', listener);
  try {
    await request();
  } finally {
    db.off('query', listener);
  }
  return seen;
}

export interface PlanRow {
  table: string;
  type: string;
  key: string | null;
  Extra: string | null;
}

/** MariaDB's plan of a statement, one row per table read. */
export async function planOf(t: TestPlatform, query: Knex.Sql): Promise<PlanRow[]> {
  const [rows] = (await t.db1.raw(`EXPLAIN ${query.sql}`, query.bindings as Knex.RawBinding[])) as [PlanRow[]];
  return rows;
}
