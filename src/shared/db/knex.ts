import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import knex, { type Knex } from 'knex';
import type { Logger } from '../logger';

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

/** knex's own mysql2 dialect, to extend: knex publishes its type but not the class itself. */
const KnexMysql2Client = createRequire(__filename)('knex/lib/dialects/mysql2') as Omit<typeof Knex.Client, 'prototype'> &
  (new (config: Knex.Config) => Knex.Client & { checkVersion(connection: unknown): Promise<unknown> });

/** The parts of a mysql2 connection used here, with the mark knex's pool checks before lending one. */
interface MysqlConnection {
  query(options: { sql: string; timeout: number }, callback: (error: Error | null, rows?: unknown) => void): unknown;
  destroy(): void;
  stream: { destroy(): void };
  __knex__disposed?: Error;
}

interface KnexQuery {
  sql: string;
  options?: Record<string, unknown>;
}

function isQueryTimeout(error: unknown): error is Error {
  return error instanceof Error && (error as { code?: unknown }).code === 'PROTOCOL_SEQUENCE_TIMEOUT';
}

/**
 * mysql2's timeout answers the caller but leaves the statement at the head of the connection's queue,
 * the connection looking healthy: lent again it would hang every statement behind one that may never
 * be answered. So it is closed at once (statements sent to it later, such as knex's ROLLBACK, fail
 * immediately) and marked the way knex marks a connection that failed, so the pool destroys it.
 */
function discard(connection: MysqlConnection, error: Error): void {
  connection.__knex__disposed = error;
  connection.destroy();
  // destroy() only half-closes; a peer that no longer answers would keep the socket open.
  connection.stream.destroy();
}

/**
 * knex's mysql2 client with mysql2's per-statement `timeout` on every statement knex sends, queries
 * and the BEGIN/COMMIT/ROLLBACK of transactions alike (they all go through `query`). A statement
 * that times out fails with PROTOCOL_SEQUENCE_TIMEOUT (a 503, see failures.ts) and its connection is
 * discarded; the server rolls back an open transaction when it sees that connection close. A COMMIT
 * that timed out may still have committed: the caller cannot know, hence idempotent writes.
 * Streams (`.stream()`) are not limited: the timeout counts from the start of a statement, and a long
 * export is not a hung one.
 */
function mysqlClientWithQueryTimeout(timeoutMs: number): typeof Knex.Client {
  return class MysqlClientWithQueryTimeout extends KnexMysql2Client {
    override query(connection: MysqlConnection, queryParam: string | KnexQuery): Promise<unknown> {
      // A later statement on a discarded connection (the transaction's ROLLBACK) fails with the timeout, not with a vaguer "closed state".
      if (connection.__knex__disposed) return Promise.reject(connection.__knex__disposed);
      const query = typeof queryParam === 'string' ? { sql: queryParam } : queryParam;
      query.options = { ...query.options, timeout: timeoutMs };
      return (super.query(connection, query) as Promise<unknown>).catch((error: unknown) => {
        if (isQueryTimeout(error)) discard(connection, error);
        throw error;
      });
    }

    /**
     * knex asks a new pool's first connection for the server version and caches that promise for
     * every later connection: left unanswered, no connection of the pool would ever be created again.
     */
    override checkVersion(connection: MysqlConnection): Promise<unknown> {
      const bounded = {
        query: (sql: string, callback: (error: Error | null, rows?: unknown) => void) =>
          connection.query({ sql, timeout: timeoutMs }, (error, rows) => {
            if (isQueryTimeout(error)) discard(connection, error);
            callback(error, rows);
          }),
      };
      return super.checkVersion(bounded);
    }
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
