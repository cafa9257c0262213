import type { Express } from 'express';
import { db1Migrations } from '../migrations/db1';
import { db2Migrations } from '../migrations/db2';
import { createApp } from './app';
import { createAnalyticsModule } from './modules/analytics';
import { createAnchorModule } from './modules/anchor';
import { createAudienceModule } from './modules/audience';
import { createFinanceModule } from './modules/finance';
import type { Config, ModuleName } from './shared/config';
import { createDb, type Db } from './shared/db/knex';
import { ensureDatabaseExists, migrateToLatest } from './shared/db/migrate';
import { createHealthProbe, type HealthProbe } from './shared/health';
import { createTokenService, type TokenService } from './shared/http/auth';
import { createLogger, type Logger } from './shared/logger';
import { createMetrics, type Metrics } from './shared/metrics';
import { systemClock, type Clock, type ModuleSurface } from './shared/module';
import { createRedis, waitForRedis, type RedisHandle } from './shared/redis';

/**
 * The composition root: config -> pools -> modules -> HTTP app. `main.ts` adds a listener,
 * cron and signal handling; `cli.ts` uses the same pieces without a listener; tests build one per file.
 */
export interface Platform {
  config: Config;
  logger: Logger;
  db1: Db;
  db2: Db;
  redis: RedisHandle;
  metrics: Metrics;
  tokens: TokenService;
  probe: HealthProbe;
  modules: ModuleSurface[];
  app: Express;
  close(): Promise<void>;
}

export interface PlatformOptions {
  logger?: Logger;
  clock?: Clock;
}

export const MIGRATIONS = { db1: db1Migrations, db2: db2Migrations } as const;

/** Creates missing MySQL databases and applies pending migrations to both. */
export async function migrateAll(config: Config, logger: Logger): Promise<void> {
  for (const [name, url] of [['db1', config.db1Url], ['db2', config.db2Url]] as const) {
    if (await ensureDatabaseExists(url)) logger.info({ database: name }, 'created missing database');
    const db = createDb(url, { poolMax: 1, acquireTimeoutMs: config.dbPool.acquireTimeoutMs, logger });
    try {
      const applied = await migrateToLatest(db, MIGRATIONS[name]);
      if (applied.length > 0) logger.info({ database: name, applied }, 'migrations applied');
    } finally {
      await db.destroy();
    }
  }
}

function buildModules(config: Config, db1: Db, db2: Db, clock: Clock): ModuleSurface[] {
  const enabled = (name: ModuleName) => config.modules.includes(name);
  const anchor = createAnchorModule({ db1, clock });
  const audience = createAudienceModule({ db1, clock });
  const modules: ModuleSurface[] = [];
  if (enabled('anchor')) modules.push(anchor);
  if (enabled('audience')) modules.push(audience);
  if (enabled('finance')) modules.push(createFinanceModule());
  if (enabled('analytics')) modules.push(createAnalyticsModule());
  return modules;
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  if (config.autoMigrate) await migrateAll(config, logger);

  const pool = { poolMax: config.dbPool.max, acquireTimeoutMs: config.dbPool.acquireTimeoutMs, logger };
  const db1 = createDb(config.db1Url, pool);
  const db2 = createDb(config.db2Url, pool);
  const redis = createRedis({ url: config.redis.url, keyPrefix: config.redis.keyPrefix, commandTimeoutMs: config.redis.commandTimeoutMs, logger });
  if (redis.client && !(await waitForRedis(redis, 1000))) logger.warn('redis not reachable at start; running degraded until it is');

  const metrics = createMetrics();
  const tokens = createTokenService(config.jwtSecret);
  const probe = createHealthProbe({ db1, db2, redis });
  const modules = buildModules(config, db1, db2, clock);
  const app = createApp({ config, logger, metrics, tokens, probe, modules });

  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    db1,
    db2,
    redis,
    metrics,
    tokens,
    probe,
    modules,
    app,
    close() {
      closing ??= Promise.all([redis.close(), db1.destroy(), db2.destroy()]).then(() => undefined);
      return closing;
    },
  };
}
