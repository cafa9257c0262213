import knex, { type Knex } from 'knex';
import { dialectOf, mysqlConnection, parseMysqlUrl, type Db } from './knex';

export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/** Serves migrations from an ordered list in code, so they run the same from tsx, jest and dist/. */
class ListMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly migrations: readonly Migration[]) {}

  getMigrations(): Promise<Migration[]> {
    return Promise.resolve([...this.migrations]);
  }

  getMigrationName(migration: Migration): string {
    return migration.name;
  }

  getMigration(migration: Migration): Promise<Knex.Migration> {
    return Promise.resolve({ up: (db: Knex) => migration.up(db), down: (db: Knex) => migration.down(db) });
  }
}

export async function migrateToLatest(db: Db, migrations: readonly Migration[]): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: new ListMigrationSource(migrations) })) as [number, string[]];
  return applied;
}

export async function rollbackAll(db: Db, migrations: readonly Migration[]): Promise<void> {
  await db.migrate.rollback({ migrationSource: new ListMigrationSource(migrations) }, true);
}

/** Creates the MySQL database named in the URL when it is missing (utf8mb4); SQLite files create themselves. */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  if (dialectOf(url) !== 'mysql') return false;
  const target = parseMysqlUrl(url);
  if (!/^[A-Za-z0-9_$]+$/.test(target.database)) throw new Error(`refusing to create a database with this name: ${target.database}`);
  const admin = knex({ client: 'mysql2', connection: mysqlConnection(target, false), pool: { min: 0, max: 1 } });
  try {
    const [rows] = (await admin.raw('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [target.database])) as [
      unknown[],
    ];
    if (rows.length > 0) return false;
    await admin.raw(`CREATE DATABASE IF NOT EXISTS \`${target.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    return true;
  } finally {
    await admin.destroy();
  }
}
