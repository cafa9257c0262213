import { createRequire } from 'node:module';
import type { Knex } from 'knex';

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
export function mysqlClientWithQueryTimeout(timeoutMs: number): typeof Knex.Client {
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
