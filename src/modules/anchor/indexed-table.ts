import { dialectOfDb, type Db } from '../../shared/db/knex';

/**
 * `table` read through `index` on MySQL/MariaDB (FORCE INDEX). The lists page by `ORDER BY id DESC
 * LIMIT n`; for that the optimizer may pick a backward scan of the primary key, which reads every
 * row when the statuses asked for are rare (closed rooms pile up, a filter matches nothing). The
 * index bounds the read to the rows that match. SQLite plans from its own statistics: the plain table.
 */
export function indexedTable(db: Db, table: string, index: string) {
  return dialectOfDb(db) === 'mysql' ? db.from(db.raw('?? force index (??)', [table, index])) : db.from(table);
}
