import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import knex, { type Knex } from 'knex';
import type { Logger } from '../logger';
import { mysqlClientWithQueryTimeout } from './mysql-query-timeout';

export type Db = Knex;
export type Trx = Knex.Transaction;
export type Dialect = 'mysql' | 'sqlite';

export interface DbOptions {
  poolMax: number;
  acquireTimeoutMs: number;
  /**
   * MySQL only: a statement without an answer by then fails (503) and its connection is dropped.
   * Unset = no limit, for migrations, where an ALTER on a large table may rightly take minutes.
   */
  queryTimeoutMs?: number;
  /** Where knex's own warnings go (it prints to the console otherwise). */
  logger?: Logger;
}

function knexLog(logger: Logger | undefined): Knex.Config['log'] {
  if (!logger) return undefined;
  const log = logger.child({ component: 'knex' });
  return {
    warn: (message: unknown) => log.warn({ detail: String(message) }, 'knex warning'),
    error: (message: unknown) => log.warn({ detail: String(message) }, 'knex error'),
    deprecate: (message: unknown) => log.debug({ detail: String(message) }, 'knex deprecation'),
    debug: (message: unknown) => log.debug({ detail: String(message) }, 'knex debug'),
  };
}

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function dialectOf(url: string): Dialect {
  return url.startsWith('mysql://') ? 'mysql' : 'sqlite';
}

export function parseMysqlUrl(url: string): MysqlTarget {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`the MySQL URL names no database: ${url.replace(/:[^:@/]*@/, ':***@')}`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

export function sqliteFile(url: string): string {
  const path = url.replace(/^sqlite:(\/\/)?/, '');
  return path === ':memory:' ? path : resolve(path);
}

/**
 * mysql2 hands BIGINT and DECIMAL back as strings (so nothing is silently rounded). Ids, counts,
 * fen amounts and integral sums become numbers when they are safe integers; anything larger stays a string.
 */
function typeCast(field: { type: string; string(): string | null }, next: () => unknown): unknown {
  if (field.type === 'LONGLONG' || field.type === 'NEWDECIMAL') {
    const raw = field.string();
    if (raw === null) return null;
    if (/^-?\d+$/.test(raw)) {
      const n = Number(raw);
      return Number.isSafeInteger(n) ? n : raw;
    }
    return raw;
  }
  return next();
}

export function mysqlConnection(target: MysqlTarget, withDatabase = true): Knex.MySql2ConnectionConfig {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    ...(withDatabase ? { database: target.database } : {}),
    timezone: 'Z',
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    connectTimeout: 2000,
    typeCast,
  };
}

export function createDb(url: string, options: DbOptions): Db {
  if (dialectOf(url) === 'mysql') {
    return knex({
      client: options.queryTimeoutMs === undefined ? 'mysql2' : mysqlClientWithQueryTimeout(options.queryTimeoutMs),
      connection: mysqlConnection(parseMysqlUrl(url)),
      pool: { min: 0, max: options.poolMax, idleTimeoutMillis: 30_000 },
      acquireConnectionTimeout: options.acquireTimeoutMs,
      log: knexLog(options.logger),
    });
  }
  // better-sqlite3 runs each statement synchronously, in this process: there is no socket that can
  // freeze, and a timer could not interrupt it anyway. Waiting for another writer's lock is what can
  // take long, and busy_timeout bounds that (SQLITE_BUSY, a 503).
  const filename = sqliteFile(url);
  if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
  return knex({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    // SQLite serialises writers anyway; one connection keeps transactions simple and correct.
    pool: {
      min: 1,
      max: 1,
      afterCreate(connection: { pragma(sql: string): unknown }, done: (error: Error | null, connection: unknown) => void) {
        connection.pragma('journal_mode = WAL');
        connection.pragma('busy_timeout = 5000');
        connection.pragma('synchronous = NORMAL');
        done(null, connection);
      },
    },
    acquireConnectionTimeout: options.acquireTimeoutMs,
    log: knexLog(options.logger),
  });
}

export function dialectOfDb(db: Db): Dialect {
  // The driver, not `config.client`: that is a class when the pool has a query timeout.
  return (db.client as { driverName: string }).driverName === 'mysql2' ? 'mysql' : 'sqlite';
}

/** Runs `work` in the caller's transaction when given, else in a new one. */
export async function inTransaction<T>(db: Db, trx: Trx | undefined, work: (trx: Trx) => Promise<T>): Promise<T> {
  if (trx) return work(trx);
  return db.transaction(work);
}

/** First generated id of an insert, on both MySQL (`[insertId]`) and SQLite (`[rowid]`). */
export function insertedId(result: unknown): number {
  const first: unknown = Array.isArray(result) ? result[0] : result;
  const id: unknown = typeof first === 'object' && first !== null ? Object.values(first)[0] : first;
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`insert returned no usable id: ${JSON.stringify(result)}`);
  return n;
}

const idAllocation = new WeakMap<object, Promise<{ consecutive: boolean; step: number }>>();

/**
 * How the server hands out AUTO_INCREMENT ids to one multi-row INSERT, asked once per pool. Keyed
 * on the pool's config object: a transaction gets a client of its own but shares that config, so a
 * key on the client would ask again in every transaction.
 */
function allocationOf(db: Db): Promise<{ consecutive: boolean; step: number }> {
  const pool = (db.client as { config: object }).config;
  let known = idAllocation.get(pool);
  if (!known) {
    known =
      dialectOfDb(db) === 'sqlite'
        ? Promise.resolve({ consecutive: true, step: 1 })
        : db.raw('SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS step').then((result: unknown) => {
            const [rows] = result as [Array<{ mode: number | string; step: number | string }>];
            const row = rows[0];
            // Modes 0 and 1 give a multi-row INSERT with a known row count consecutive ids; mode 2 may interleave.
            return { consecutive: row !== undefined && Number(row.mode) !== 2, step: Number(row?.step ?? 1) };
          });
    idAllocation.set(pool, known);
    // A failed question (DB1 down or timed out) is asked again next time, not remembered for good.
    known.catch(() => idAllocation.delete(pool));
  }
  return known;
}

/**
 * The ids of the `count` rows a multi-row INSERT just created, without reading them back: MySQL
 * reports the first id, SQLite the last. Null when the server may not have given consecutive ids.
 */
export async function insertedIds(db: Db, result: unknown, count: number): Promise<number[] | null> {
  const allocation = await allocationOf(db);
  if (!allocation.consecutive) return null;
  const reported = insertedId(result);
  const first = dialectOfDb(db) === 'mysql' ? reported : reported - (count - 1) * allocation.step;
  return Array.from({ length: count }, (_, i) => first + i * allocation.step);
}
