import type { Knex } from 'knex';
import { dialectOfDb } from '../src/shared/db/knex';

export interface KeyColumn {
  table: string;
  column: string;
  length: number;
  nullable: boolean;
}

/**
 * Gives string key columns a binary collation on MySQL, so `RC-abc` and `RC-ABC` are two keys, as
 * they are on SQLite and in the API's case-sensitive pattern. The database default
 * (utf8mb4_unicode_ci) would make them one: a reward replayed or refused under someone else's key.
 */
export async function setKeyCollation(
  db: Knex,
  columns: readonly KeyColumn[],
  collation: 'utf8mb4_bin' | 'utf8mb4_unicode_ci',
): Promise<void> {
  if (dialectOfDb(db) !== 'mysql') return; // SQLite compares TEXT byte by byte already.
  for (const { table, column, length, nullable } of columns) {
    await db.raw(
      `ALTER TABLE ?? MODIFY ?? VARCHAR(${length}) CHARACTER SET utf8mb4 COLLATE ${collation} ${nullable ? 'NULL' : 'NOT NULL'}`,
      [table, column],
    );
  }
}
