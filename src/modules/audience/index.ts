import type { Registry } from 'prom-client';
import type { SyncSettings } from '../../shared/config';
import type { Db } from '../../shared/db/knex';
import type { RedisHandle } from '../../shared/redis';
import type { Logger } from '../../shared/logger';
import { cacheRequestsCounter } from '../../shared/metrics';
import { parseAmountToFen } from '../../shared/money';
import type { Clock, ModuleSurface } from '../../shared/module';
import { createRateLimit } from '../../shared/rate-limit';
import { guardClient } from '../../shared/resilience';
import type { AnchorServiceClient } from '../anchor/contract';
import type { FinanceServiceClient } from '../finance/contract';
import { createAudienceMetrics } from './audience-metrics';
import { createInProcessAudienceClient } from './client/in-process';
import type { AudienceServiceClient, QuarantineDto } from './contract';
import { createRankingsService } from './rewards/rankings.service';
import { createRewardLedger } from './rewards/reward-ledger.service';
import { createRewardSweeper, type SweepReport } from './rewards/reward-sweeper';
import { createRewardTargets } from './rewards/reward-targets';
import { createRewardWriter } from './rewards/reward-writer';
import { rewardRoutes } from './rewards/rewards.routes';
import { createRewardsService } from './rewards/rewards.service';
import { unsyncedByState } from './sync/sync-quarantine.repository';
import { createSyncQuarantine } from './sync/sync-quarantine.service';
import { syncRoutes } from './sync/sync.routes';
import { createSyncService } from './sync/sync.service';
import { viewerRoutes } from './viewers/viewers.routes';
import { createViewersService } from './viewers/viewers.service';

export type { AudienceServiceClient, QuarantineDto } from './contract';

export interface AudienceModuleDeps {
  db1: Db;
  /** DB1 for reconciliation's whole-table statements (a pool with the long report timeout). */
  reportsDb: Db;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  redis: RedisHandle;
  /** The anchor module, reached only through its contract (in-process today, HTTP after a split). */
  anchor: AnchorServiceClient;
  finance: FinanceServiceClient;
  settings: {
    maxRewardAmount: string;
    timeZone: string;
    top10CacheTtlMs: number;
    anchorCallTimeoutMs: number;
    moduleCallTimeoutMs: number;
    roomFallbackMs: number;
    rateLimitPerMinute: number;
    sync: SyncSettings;
    /** The outbox sweep of the realtime figures: when it runs, how old an uncounted reward must be, how far back after Redis lost its memory. */
    sweep: { cron: string; delayMs: number; rebuildWindowMs: number };
    rewardQueue: { max: number; maxWaitMs: number };
  };
}

export interface AudienceModule extends ModuleSurface {
  client: AudienceServiceClient;
  /** The finance sync, for the CLI (`sync run`). */
  runSync: () => Promise<{ synced: number; batches: number; pending: number }>;
  /** One run of the reward sweep (the `reward-sweep` job), for the CLI and tests. */
  sweepRewards: () => Promise<SweepReport>;
  /** The rewards the sync quarantined, for the CLI (`sync quarantine list`). */
  listQuarantined: (limit: number) => Promise<QuarantineDto>;
  /** Puts one quarantined reward, or all of them, back in the sync queue (`sync quarantine retry`). */
  requeueQuarantined: (target: number | 'all') => Promise<{ requeued: number }>;
}

/** Viewers, their rewards and consumption, TOP10, and the sync queue towards finance (DB1). */
export function createAudienceModule(deps: AudienceModuleDeps): AudienceModule {
  const { db1: db, clock, logger, settings } = deps;
  const maxRewardFen = parseAmountToFen(settings.maxRewardAmount) ?? 10_000_000;
  const metrics = createAudienceMetrics(deps.registry, async () => {
    const states = await unsyncedByState(db);
    return { unsynced: states.PENDING + states.CLAIMED, quarantined: states.QUARANTINED };
  });
  const viewers = createViewersService({ db, clock });
  // Every call into another module has a breaker and a timeout: the reward path's short, the sync's long.
  const anchor = guardClient(deps.anchor, {
    name: 'anchor',
    logger,
    timeoutMs: { default: settings.anchorCallTimeoutMs },
    onOutcome: (method, outcome) => metrics.countAnchorCall(method, outcome),
  });
  const finance = guardClient(deps.finance, { name: 'finance', logger, timeoutMs: { default: settings.moduleCallTimeoutMs } });
  const rooms = createRewardTargets({
    anchor,
    logger,
    rememberMs: settings.roomFallbackMs,
    callTimeoutMs: settings.anchorCallTimeoutMs,
    onCheck: (source, count) => metrics.countRoomChecks(source, count),
  });
  const rewards = createRewardsService({
    db,
    clock,
    logger,
    metrics,
    maxRewardFen,
    writer: createRewardWriter({
      db,
      rooms,
      maxQueued: settings.rewardQueue.max,
      maxQueueWaitMs: settings.rewardQueue.maxWaitMs,
      observer: metrics.rewardQueue,
    }),
    notifyAnchor: (command) => anchor.applyReward(command),
    rateLimit: createRateLimit({ name: 'rewards', perMinute: settings.rateLimitPerMinute, redis: deps.redis, logger }),
    rateLimitPerMinute: settings.rateLimitPerMinute,
  });
  const rankings = createRankingsService({
    db,
    clock,
    timeZone: settings.timeZone,
    cacheTtlMs: settings.top10CacheTtlMs,
    cacheRequests: cacheRequestsCounter(deps.registry),
  });
  const sweeper = createRewardSweeper({
    db,
    redis: deps.redis,
    anchor,
    clock,
    logger,
    delayMs: settings.sweep.delayMs,
    rebuildWindowMs: settings.sweep.rebuildWindowMs,
    onApplied: (count) => metrics.swept.inc(count),
  });
  const sync = createSyncService({
    db,
    clock,
    logger,
    finance,
    batchSize: settings.sync.batchSize,
    claimTtlMs: settings.sync.claimTtlMs,
    claimLocking: settings.sync.claimLocking,
    quarantineAfter: settings.sync.quarantineAfter,
    observer: metrics.sync,
  });
  const quarantine = createSyncQuarantine({ db, logger });

  return {
    name: 'audience',
    routes: [
      {
        prefix: '/audience/api/v1',
        tag: 'audience',
        routes: [...viewerRoutes(viewers), ...rewardRoutes(rewards, rankings, { maxRewardFen }), ...syncRoutes(sync)],
      },
    ],
    health: { path: '/audience/actuator/health', requires: ['db1'] },
    jobs: [
      // Settlement needs no Redis and must not stop for it; runs on several instances share the work (expiring claims).
      { name: 'finance-sync', schedule: settings.sync.cron, withoutLease: 'run', run: async () => void (await sync.runSync()) },
      // Its cursor lives in Redis: without it the sweep cannot run, so the tick is skipped.
      { name: 'reward-sweep', schedule: settings.sweep.cron, withoutLease: 'skip', run: async () => void (await sweeper.sweep()) },
    ],
    client: createInProcessAudienceClient(viewers, createRewardLedger({ db, reportsDb: deps.reportsDb }), quarantine),
    runSync: () => sync.runSync(),
    sweepRewards: () => sweeper.sweep(),
    listQuarantined: (limit) => quarantine.list(limit),
    requeueQuarantined: (target) => quarantine.requeue(target),
  };
}
