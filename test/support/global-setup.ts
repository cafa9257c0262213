import { execFileSync } from 'node:child_process';
import knex from 'knex';
import { Redis } from 'ioredis';
import { db1Migrations } from '../../migrations/db1';
import { db2Migrations } from '../../migrations/db2';
import { createDb, mysqlConnection, parseMysqlUrl } from '../../src/shared/db/knex';
import { migrateToLatest } from '../../src/shared/db/migrate';
import {
  NGINX_INSTALL_HINT,
  nginxBinary,
  REDIS_KEY_PREFIX,
  START_HINT,
  TEST_MYSQL_URL,
  TEST_REDIS_URL,
  workerDatabaseUrl,
  workerRedisUrl,
} from './environment';

async function checkMysql(): Promise<void> {
  const admin = knex({
    client: 'mysql2',
    connection: mysqlConnection(parseMysqlUrl(`${TEST_MYSQL_URL}/mysql`), false),
    pool: { min: 0, max: 1 },
  });
  try {
    await admin.raw('select 1');
  } catch (error) {
    throw new Error(`MariaDB is not reachable at ${TEST_MYSQL_URL}: ${(error as Error).message}\n${START_HINT}`);
  } finally {
    await admin.destroy();
  }
}

async function checkRedis(): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${TEST_REDIS_URL}: ${(error as Error).message}\n${START_HINT}`);
  } finally {
    redis.disconnect();
  }
}

/** nginx is a prerequisite like MariaDB and Redis: without it the run fails, naming the install command. */
function checkNginx(): void {
  const binary = nginxBinary();
  if (!binary) {
    const where = process.env['TEST_NGINX']
      ? `TEST_NGINX=${process.env['TEST_NGINX']} is not an executable`
      : 'not on PATH, not in /usr/sbin';
    throw new Error(`nginx is not installed (${where}).\n${NGINX_INSTALL_HINT}`);
  }
  try {
    execFileSync(binary, ['-v'], { stdio: 'ignore', timeout: 10_000 });
  } catch (error) {
    throw new Error(`${binary} -v failed: ${(error as Error).message}\n${NGINX_INSTALL_HINT}`);
  }
}

export async function recreateDatabase(url: string, migrations: Parameters<typeof migrateToLatest>[1]): Promise<void> {
  const target = parseMysqlUrl(url);
  const admin = knex({ client: 'mysql2', connection: mysqlConnection(target, false), pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS \`${target.database}\``);
    await admin.raw(`CREATE DATABASE \`${target.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.destroy();
  }
  const db = createDb(url, { poolMax: 1, acquireTimeoutMs: 5000 });
  try {
    await migrateToLatest(db, migrations);
  } finally {
    await db.destroy();
  }
}

/** Deletes this checkout's keys (its prefix) from a worker's Redis db; other checkouts' keys stay. */
export async function deleteRunKeys(url: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Fails the run (never skips) when MariaDB or Redis is down or nginx is missing; gives each worker fresh, migrated databases. */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  checkNginx();
  await Promise.all([checkMysql(), checkRedis()]);
  const workers = Math.max(1, globalConfig.maxWorkers);
  for (let worker = 1; worker <= workers; worker += 1) {
    await Promise.all([
      recreateDatabase(workerDatabaseUrl('db1', worker), db1Migrations),
      recreateDatabase(workerDatabaseUrl('db2', worker), db2Migrations),
      deleteRunKeys(workerRedisUrl(worker)),
    ]);
  }
}
