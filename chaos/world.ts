import knex from 'knex';
import { db1Migrations } from '../migrations/db1';
import { db2Migrations } from '../migrations/db2';
import { createDb, mysqlConnection, parseMysqlUrl, type Db } from '../src/shared/db/knex';
import { migrateToLatest } from '../src/shared/db/migrate';
import { createTokenService } from '../src/shared/http/auth';
import { freePort, PrivateRedis } from '../test/support/private-redis';
import { ServiceProcess } from '../test/support/service-process';
import { TcpProxy } from '../test/support/tcp-proxy';

const SECRET = 'chaos-secret-0123456789-0123456789-012345';

/**
 * Everything a chaos run breaks, all of it its own: databases named after the seed on the machine's
 * MariaDB (reached only through TCP proxies the run can cut or freeze), a private redis-server it
 * can freeze, kill and restart empty, and two service instances it can SIGKILL and start again.
 * The shared MariaDB and Redis servers themselves are never stopped or changed.
 */
export interface World {
  instances: ServiceProcess[];
  redis: PrivateRedis;
  proxies: { db1: TcpProxy; db2: TcpProxy };
  /** Direct connections (not through the proxies), for the audit. */
  direct: { db1: Db; db2: Db };
  admin: string;
  service: string;
  close(): Promise<void>;
}

async function freshDatabase(mysqlUrl: string, name: string, migrations: typeof db1Migrations): Promise<string> {
  const url = `${mysqlUrl}/${name}`;
  const admin = knex({ client: 'mysql2', connection: mysqlConnection(parseMysqlUrl(url), false), pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.destroy();
  }
  const db = createDb(url, { poolMax: 1, acquireTimeoutMs: 5000 });
  try {
    await migrateToLatest(db, migrations);
  } finally {
    await db.destroy();
  }
  return url;
}

async function dropDatabase(mysqlUrl: string, name: string): Promise<void> {
  const admin = knex({
    client: 'mysql2',
    connection: mysqlConnection(parseMysqlUrl(`${mysqlUrl}/${name}`), false),
    pool: { min: 0, max: 1 },
  });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await admin.destroy();
  }
}

export async function createWorld(options: { seed: number; mysqlUrl: string; keep: boolean }): Promise<World> {
  const names = { db1: `tipping_chaos_${options.seed}_db1`, db2: `tipping_chaos_${options.seed}_db2` };
  // Whatever was started is stopped again, also when a later step of the set-up fails.
  const undo: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    if (!options.keep) await Promise.all([dropDatabase(options.mysqlUrl, names.db1), dropDatabase(options.mysqlUrl, names.db2)]);
  };
  try {
    const urls = {
      db1: await freshDatabase(options.mysqlUrl, names.db1, db1Migrations),
      db2: await freshDatabase(options.mysqlUrl, names.db2, db2Migrations),
    };
    const mysql = parseMysqlUrl(urls.db1);
    const proxies = {
      db1: await TcpProxy.start({ host: mysql.host, port: mysql.port }),
      db2: await TcpProxy.start({ host: mysql.host, port: mysql.port }),
    };
    undo.push(() => Promise.all([proxies.db1.cut(), proxies.db2.cut()]));
    const viaProxy = (url: string, proxy: TcpProxy) => url.replace(`:${mysql.port}/`, `:${proxy.port}/`);
    const redis = await PrivateRedis.start();
    undo.push(() => redis.dispose());
    const direct = {
      db1: createDb(urls.db1, { poolMax: 2, acquireTimeoutMs: 5000 }),
      db2: createDb(urls.db2, { poolMax: 2, acquireTimeoutMs: 5000 }),
    };
    undo.push(() => Promise.all([direct.db1.destroy(), direct.db2.destroy()]));
    const env = serviceEnvironment({ db1: viaProxy(urls.db1, proxies.db1), db2: viaProxy(urls.db2, proxies.db2), redis: redis.url });
    const instances: ServiceProcess[] = [];
    undo.push(() => Promise.all(instances.map((instance) => instance.kill())));
    for (const name of ['instance-a', 'instance-b']) instances.push(await ServiceProcess.start(name, await freePort(), env));
    const tokens = createTokenService(SECRET);
    return {
      instances,
      redis,
      proxies,
      direct,
      admin: `Bearer ${await tokens.sign({ role: 'admin', id: 1 }, 3 * 3600)}`,
      service: `Bearer ${await tokens.sign({ role: 'service', id: 1 }, 3 * 3600)}`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The instances' settings: short cron intervals and timeouts, so faults meet every job within a short run. */
function serviceEnvironment(urls: { db1: string; db2: string; redis: string }): Record<string, string> {
  return {
    NODE_ENV: 'test',
    JWT_SECRET: SECRET,
    DB1_URL: urls.db1,
    DB2_URL: urls.db2,
    REDIS_URL: urls.redis,
    AUTO_MIGRATE: 'false',
    // Info, because the runner waits for the "listening on" line.
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '0',
    CRON_ENABLED: 'true',
    SYNC_CRON: '*/4 * * * * *',
    SYNC_CLAIM_TTL_MS: '6000',
    REALTIME_FLUSH_CRON: '*/3 * * * * *',
    REALTIME_FLUSH_THRESHOLD: '40',
    REALTIME_HEAL_CRON: '* * * * * *',
    REWARD_SWEEP_DELAY_MS: '1500',
    RECONCILE_CRON: '0 0 1 1 *',
    DB_QUERY_TIMEOUT_MS: '2000',
    DB_ACQUIRE_TIMEOUT_MS: '1000',
    ANCHOR_CALL_TIMEOUT_MS: '300',
  };
}
