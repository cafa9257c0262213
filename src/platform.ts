import type { Express } from 'express';
import { db1Migrations } from '../migrations/db1';
import { db2Migrations } from '../migrations/db2';
import { createApp } from './app';
import { createCacheModule } from './modules/cache';
import { createAnalyticsModule, type ReconciliationReport, type SyncDayComparison } from './modules/analytics';
import { createAnchorModule, type AnchorServiceClient } from './modules/anchor';
import { createAudienceModule, type AudienceServiceClient, type QuarantineDto, type RewardAggregateQueries } from './modules/audience';
import { createFinanceModule, type FinanceOperations, type FinanceServiceClient } from './modules/finance';
import type { Config, ModuleName } from './shared/config';
import { createDb, dialectOf, type Db } from './shared/db/knex';
import { ensureDatabaseExists, migrateToLatest } from './shared/db/migrate';
import { createHealthProbe, type HealthProbe } from './shared/health';
import { createTokenService, type TokenService } from './shared/http/auth';
import { createLogger, type Logger } from './shared/logger';
import { createMetrics, type Metrics } from './shared/metrics';
import { systemClock, type Clock, type ModuleSurface } from './shared/module';
import { createRedis, waitForRedis, type RedisHandle } from './shared/redis';
import { createScheduler, type Scheduler } from './shared/scheduler/scheduler';

type SyncReport = { synced: number; batches: number; pending: number };
type HealReport = { rooms: { redisReplaced: boolean; flushedRooms: number }; sweep: { examined: number; applied: number } };

/**
 * The composition root: config -> pools -> modules -> HTTP app. `main.ts` adds a listener,
 * cron and signal handling; `cli.ts` uses the same pieces without a listener; tests build one per file.
 */
export interface Platform {
  config: Config;
  logger: Logger;
  db1: Db;
  db2: Db;
  /** Pools for reconciliation's whole-table statements (REPORT_TIMEOUT_MS); the request pools themselves on SQLite. */
  reports: { db1: Db; db2: Db };
  redis: RedisHandle;
  metrics: Metrics;
  tokens: TokenService;
  probe: HealthProbe;
  modules: ModuleSurface[];
  app: Express;
  /** Runs the modules' jobs on their schedules once started (main.ts starts it; tests and the CLI need not). */
  scheduler: Scheduler;
  /** The finance sync, as the CLI and the trigger endpoint run it. */
  runSync: () => Promise<SyncReport>;
  /** The rewards the sync quarantined (finance kept refusing them): every one counted, the first `limit` listed. */
  listQuarantined: (limit: number) => Promise<QuarantineDto>;
  /** Puts one quarantined reward, or every one, back in the sync queue. */
  requeueQuarantined: (target: number | 'all') => Promise<{ requeued: number }>;
  /** Folds every pending realtime delta from Redis into DB1, as the flush job does. */
  flushRealtime: () => Promise<{ rooms: number }>;
  /** One run of the heal jobs: rooms flushed after a Redis fault, then the reward sweep. */
  healRealtime: () => Promise<HealReport>;
  /** One run of the `refund-effects` job: refunds whose room figures, boards and finance are confirmed now, and those still failing. */
  finishRefunds: (options?: { confirmAfterMs?: number }) => Promise<{ done: number; failed: number }>;
  /** Compares realtime figures and finance with the reward table; repairs realtime drift when asked. */
  reconcile: (options: { repair: boolean }) => Promise<ReconciliationReport>;
  /** One calendar day (YYYY-MM-DD in TIME_ZONE) of rewards: DB1's sync states next to DB2's settlements, per anchor. */
  compareSyncDay: (date: string) => Promise<SyncDayComparison>;
  /** Withdrawal review and commission rates for the CLI, through the services the HTTP API uses. */
  finance: FinanceOperations;
  /** Ends the modules' open event streams and refuses new ones: before the HTTP server stops, so it need not wait for them. */
  endStreams(): Promise<void>;
  close(): Promise<void>;
}

/** Wraps a module's contract as the other modules see it: the seam for an HTTP adapter after a split, and for fault tests. */
export interface ClientDecorators {
  anchor?: (client: AnchorServiceClient) => AnchorServiceClient;
  audience?: (client: AudienceServiceClient) => AudienceServiceClient;
  finance?: (client: FinanceServiceClient) => FinanceServiceClient;
}

export interface PlatformOptions {
  logger?: Logger;
  clock?: Clock;
  /**
   * Wraps each module's contract as the other modules see it — the seam where a split deployment
   * puts the HTTP adapter, and where fault tests put a slow or failing module.
   */
  clientDecorators?: ClientDecorators;
}

export const MIGRATIONS = { db1: db1Migrations, db2: db2Migrations } as const;

/** Creates missing MySQL databases and applies pending migrations to both. */
export async function migrateAll(config: Config, logger: Logger): Promise<void> {
  for (const [name, url] of [
    ['db1', config.db1Url],
    ['db2', config.db2Url],
  ] as const) {
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

interface Infrastructure {
  config: Config;
  db1: Db;
  db2: Db;
  /** Pools for reconciliation's whole-table statements, with REPORT_TIMEOUT_MS instead of DB_QUERY_TIMEOUT_MS. */
  reports: { db1: Db; db2: Db };
  redis: RedisHandle;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  decorators: ClientDecorators;
}

/** Builds every module, wiring each to the others' contracts; `MODULES` decides which are served. */
function buildModules(infra: Infrastructure): Pick<
  Platform,
  | 'runSync'
  | 'listQuarantined'
  | 'requeueQuarantined'
  | 'flushRealtime'
  | 'healRealtime'
  | 'finishRefunds'
  | 'reconcile'
  | 'compareSyncDay'
  | 'finance'
> & {
  surfaces: ModuleSurface[];
} {
  const { config, db1, db2, reports, redis, metrics, logger, clock, decorators } = infra;
  const enabled = (name: ModuleName) => config.modules.includes(name);
  const seen = <T>(client: T, decorate: ((client: T) => T) | undefined): T => (decorate ? decorate(client) : client);
  // Audience owns the reward table that anchor and finance check records against, and itself needs
  // both of them: it is built last and reached through this late-bound reference until then.
  const late: { audience?: AudienceServiceClient; finance?: FinanceServiceClient } = {};
  const sessionRewards: Pick<AudienceServiceClient, 'sessionRewardTotals'> = {
    sessionRewardTotals: (ids) => {
      if (!late.audience) throw new Error('the audience module is not built yet');
      return late.audience.sessionRewardTotals(ids);
    },
  };
  const financeNow = (): FinanceServiceClient => {
    if (!late.finance) throw new Error('the finance module is not built yet');
    return late.finance;
  };
  const anchorFinance: Pick<
    FinanceServiceClient,
    'anchorBalance' | 'effectiveRate' | 'rateHistory' | 'applyWithdrawal' | 'listWithdrawals' | 'cancelWithdrawal'
  > = {
    anchorBalance: (anchorId) => financeNow().anchorBalance(anchorId),
    effectiveRate: (anchorId) => financeNow().effectiveRate(anchorId),
    rateHistory: (anchorId, paging) => financeNow().rateHistory(anchorId, paging),
    applyWithdrawal: (command) => financeNow().applyWithdrawal(command),
    listWithdrawals: (query) => financeNow().listWithdrawals(query),
    cancelWithdrawal: (anchorId, withdrawalId) => financeNow().cancelWithdrawal(anchorId, withdrawalId),
  };
  const audienceNow = (): AudienceServiceClient => {
    if (!late.audience) throw new Error('the audience module is not built yet');
    return late.audience;
  };
  const rewards: Pick<
    AudienceServiceClient,
    'storedRewards' | 'refundsOf' | 'viewerProfiles' | 'rewardRecords' | 'rewardTotalsByBucket' | 'exportRewardRecords'
  > = {
    storedRewards: (ids) => audienceNow().storedRewards(ids),
    refundsOf: (ids) => audienceNow().refundsOf(ids),
    viewerProfiles: (ids) => audienceNow().viewerProfiles(ids),
    rewardRecords: (query) => audienceNow().rewardRecords(query),
    rewardTotalsByBucket: (owner, boundaries) => audienceNow().rewardTotalsByBucket(owner, boundaries),
    exportRewardRecords: (range) => audienceNow().exportRewardRecords(range),
  };
  const anchor = createAnchorModule({
    db1,
    reportsDb: reports.db1,
    redis,
    clock,
    logger,
    registry: metrics.registry,
    rewards,
    rewardAggregates: lateRewardAggregates(() => late.audience),
    sessionRewards,
    finance: anchorFinance,
    settings: {
      redisKeyPrefix: config.redis.keyPrefix,
      flushThreshold: config.realtime.flushThreshold,
      flushCron: config.realtime.flushCron,
      healCron: config.realtime.healCron,
      rewardPathTimeoutMs: config.anchorCallTimeoutMs,
      journalRetentionMs: config.realtime.journalRetentionMs,
      timeZone: config.timeZone,
      insightsCacheTtlMs: config.top10CacheTtlMs,
      moduleCallTimeoutMs: config.moduleCallTimeoutMs,
      sessionSettleMs: config.liveSessions.settleMs,
      sessionTotalsCron: config.liveSessions.totalsCron,
      liveEvents: config.liveEvents,
      recordsCallTimeoutMs: config.moduleCallTimeoutMs,
    },
  });
  const anchorClient = seen(anchor.client, decorators.anchor);
  const finance = createFinanceModule({
    db2,
    reportsDb: reports.db2,
    clock,
    logger,
    registry: metrics.registry,
    anchors: anchorClient,
    rewards,
    settings: {
      defaultCommissionRate: config.defaultCommissionRate,
      moduleCallTimeoutMs: config.moduleCallTimeoutMs,
      timeZone: config.timeZone,
      withdrawals: { ...config.withdrawals, timeZone: config.timeZone },
    },
  });
  const financeClient = seen(finance.client, decorators.finance);
  late.finance = financeClient;
  const audience = createAudienceModule({
    db1,
    reportsDb: reports.db1,
    clock,
    logger,
    registry: metrics.registry,
    redis,
    anchor: anchorClient,
    finance: financeClient,
    settings: {
      maxRewardAmount: config.maxRewardAmount,
      timeZone: config.timeZone,
      top10CacheTtlMs: config.top10CacheTtlMs,
      top10SettleDelayMs: config.top10SettleDelayMs,
      anchorCallTimeoutMs: config.anchorCallTimeoutMs,
      moduleCallTimeoutMs: config.moduleCallTimeoutMs,
      roomFallbackMs: config.roomFallbackMs,
      rateLimitPerMinute: config.rateLimitPerMinute,
      dailyRewardCap: config.dailyRewardCap,
      sync: config.sync,
      sweep: { cron: config.realtime.healCron, delayMs: config.realtime.sweepDelayMs, rebuildWindowMs: config.realtime.rebuildWindowMs },
      // As long as a batch may take to fail on a DB1 that hangs: one connection wait, one unanswered statement.
      rewardQueue: { max: config.rewardQueueMax, maxWaitMs: config.dbPool.acquireTimeoutMs + config.dbPool.queryTimeoutMs },
      exportPageTimeoutMs: config.dbPool.queryTimeoutMs,
    },
  });
  late.audience = seen(audience.client, decorators.audience);
  const analytics = createAnalyticsModule({
    audience: late.audience,
    anchor: anchorClient,
    finance: financeClient,
    clock,
    logger,
    redis,
    registry: metrics.registry,
    settings: {
      reconcileCron: config.reconcileCron,
      reportTimeoutMs: config.reportTimeoutMs,
      timeZone: config.timeZone,
      cacheTtlMs: config.analyticsCacheTtlMs,
    },
  });
  const cache = createCacheModule({
    redis,
    anchor: anchorClient,
    audience: late.audience,
    clock,
    logger,
    registry: metrics.registry,
    settings: { keyPrefix: config.redis.keyPrefix, rebuildTimeoutMs: config.reportTimeoutMs },
  });
  const surfaces: ModuleSurface[] = [];
  if (enabled('anchor')) surfaces.push(anchor);
  if (enabled('audience')) surfaces.push(audience);
  if (enabled('finance')) surfaces.push(finance);
  if (enabled('analytics')) surfaces.push(analytics);
  if (enabled('cache')) surfaces.push(cache);
  return {
    surfaces,
    runSync: audience.runSync,
    listQuarantined: audience.listQuarantined,
    requeueQuarantined: audience.requeueQuarantined,
    flushRealtime: () => anchor.flushRealtime(),
    healRealtime: async () => ({ rooms: await anchor.healRealtime(), sweep: await audience.sweepRewards() }),
    finishRefunds: (options) => audience.finishRefunds(options),
    reconcile: (options) => analytics.reconcile(options),
    compareSyncDay: (date) => analytics.compareSyncDay(date),
    finance: finance.operations,
  };
}

/** The audience module's aggregates, reached through `audience()` once it is built (it is built after the anchor module). */
function lateRewardAggregates(audience: () => AudienceServiceClient | undefined): RewardAggregateQueries {
  const built = (): AudienceServiceClient => {
    const client = audience();
    if (!client) throw new Error('the audience module is not built yet');
    return client;
  };
  return {
    anchorRewardStats: (anchorId) => built().anchorRewardStats(anchorId),
    topSupportersOfAnchor: (anchorId, window, limit) => built().topSupportersOfAnchor(anchorId, window, limit),
    topSupportersOfRoom: (liveRoomId, window, limit) => built().topSupportersOfRoom(liveRoomId, window, limit),
    anchorsByEarnings: (window, page) => built().anchorsByEarnings(window, page),
    supporterSummary: (anchorId, window) => built().supporterSummary(anchorId, window),
  };
}

/**
 * A small pool of its own for reconciliation (whole-table aggregates), whose statements may take
 * REPORT_TIMEOUT_MS: on the request path's pool they would be cut off at DB_QUERY_TIMEOUT_MS, and
 * would hold connections requests need. SQLite has no statement timeout and one writer: the same pool.
 */
function reportsPool(url: string, requestPool: Db, config: Config, logger: Logger): Db {
  if (dialectOf(url) === 'sqlite') return requestPool;
  return createDb(url, { poolMax: 2, acquireTimeoutMs: config.dbPool.acquireTimeoutMs, queryTimeoutMs: config.reportTimeoutMs, logger });
}

export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  if (config.autoMigrate) await migrateAll(config, logger);

  const pool = {
    poolMax: config.dbPool.max,
    acquireTimeoutMs: config.dbPool.acquireTimeoutMs,
    queryTimeoutMs: config.dbPool.queryTimeoutMs,
    logger,
  };
  const db1 = createDb(config.db1Url, pool);
  const db2 = createDb(config.db2Url, pool);
  const reports = {
    db1: reportsPool(config.db1Url, db1, config, logger),
    db2: reportsPool(config.db2Url, db2, config, logger),
  };
  const redis = createRedis({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    commandTimeoutMs: config.redis.commandTimeoutMs,
    logger,
  });
  if (redis.client && !(await waitForRedis(redis, 1000))) logger.warn('redis not reachable at start; running degraded until it is');

  if (config.rewardQueueMax < 500)
    logger.warn(
      { rewardQueueMax: config.rewardQueueMax },
      'REWARD_QUEUE_MAX is below 500: a batch of more rewards than that can never be taken',
    );
  const metrics = createMetrics();
  const tokens = createTokenService(config.jwtSecret);
  const probe = createHealthProbe({ db1, db2, redis });
  const {
    surfaces: modules,
    runSync,
    listQuarantined,
    requeueQuarantined,
    flushRealtime,
    healRealtime,
    finishRefunds,
    reconcile,
    compareSyncDay,
    finance,
  } = buildModules({
    config,
    db1,
    db2,
    reports,
    redis,
    metrics,
    logger,
    clock,
    decorators: options.clientDecorators ?? {},
  });
  const app = createApp({ config, logger, metrics, tokens, probe, modules });
  const scheduler = createScheduler({ jobs: modules.flatMap((m) => m.jobs), redis, logger, leaseMs: config.cronLeaseMs });

  let closing: Promise<void> | undefined;
  const endStreams = async () => void (await Promise.all(modules.map((m) => m.beforeShutdown?.() ?? Promise.resolve())));
  return {
    config,
    logger,
    db1,
    db2,
    reports,
    redis,
    metrics,
    tokens,
    probe,
    modules,
    app,
    scheduler,
    runSync,
    listQuarantined,
    requeueQuarantined,
    flushRealtime,
    healRealtime,
    finishRefunds,
    reconcile,
    compareSyncDay,
    finance,
    endStreams,
    close() {
      const pools = [...new Set([db1, db2, reports.db1, reports.db2])];
      closing ??= Promise.all([scheduler.stop(), endStreams()]).then(() =>
        Promise.all([redis.close(), ...pools.map((pool) => pool.destroy())]).then(() => undefined),
      );
      return closing;
    },
  };
}
