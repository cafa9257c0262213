import type { Registry } from 'prom-client';
import type { Db } from '../../shared/db/knex';
import { AppError } from '../../shared/http/app-error';
import type { RedisHandle } from '../../shared/redis';
import type { Logger } from '../../shared/logger';
import { parseAmountToFen } from '../../shared/money';
import type { Clock, ModuleSurface } from '../../shared/module';
import { createRateLimit } from '../../shared/rate-limit';
import { createBreaker } from '../../shared/resilience';
import type { AnchorServiceClient } from '../anchor/contract';
import type { FinanceServiceClient } from '../finance/contract';
import { createAudienceMetrics } from './audience-metrics';
import { createInProcessAudienceClient } from './client/in-process';
import type { AudienceServiceClient } from './contract';
import { createRankingsService } from './rewards/rankings.service';
import { createRewardLedger } from './rewards/reward-ledger.service';
import { createRewardWriter } from './rewards/reward-writer';
import { countUnsynced } from './rewards/rewards.repository';
import { rewardRoutes } from './rewards/rewards.routes';
import { createRewardsService } from './rewards/rewards.service';
import { syncRoutes } from './sync/sync.routes';
import { createSyncService } from './sync/sync.service';
import { viewerRoutes } from './viewers/viewers.routes';
import { createViewersService } from './viewers/viewers.service';

export type { AudienceServiceClient } from './contract';

export interface AudienceModuleDeps {
  db1: Db;
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
    anchorCallTimeoutMs: number;
    rateLimitPerMinute: number;
    sync: { cron: string; batchSize: number; claimTtlMs: number };
  };
}

export interface AudienceModule extends ModuleSurface {
  client: AudienceServiceClient;
  /** The finance sync, for the CLI (`sync run`). */
  runSync: () => Promise<{ synced: number; batches: number; pending: number }>;
}

/** Viewers, their rewards and consumption, TOP10, and the sync queue towards finance (DB1). */
export function createAudienceModule(deps: AudienceModuleDeps): AudienceModule {
  const { db1: db, clock, logger, settings } = deps;
  const maxRewardFen = parseAmountToFen(settings.maxRewardAmount) ?? 10_000_000;
  const metrics = createAudienceMetrics(deps.registry, () => countUnsynced(db));
  const viewers = createViewersService({ db, clock });
  const anchorBreaker = createBreaker((command: Parameters<AnchorServiceClient['applyReward']>[0]) => deps.anchor.applyReward(command), {
    name: 'anchor.applyReward',
    timeoutMs: settings.anchorCallTimeoutMs,
    logger,
    isClientError: (error) => error instanceof AppError && error.status < 500,
    onOutcome: (outcome) => metrics.countAnchorCall(outcome),
  });
  const rewards = createRewardsService({
    db,
    clock,
    logger,
    metrics,
    maxRewardFen,
    writer: createRewardWriter({ db, anchor: deps.anchor }),
    notifyAnchor: (command) => anchorBreaker.fire(command),
    rateLimit: createRateLimit({ name: 'rewards', perMinute: settings.rateLimitPerMinute, redis: deps.redis, logger }),
    rateLimitPerMinute: settings.rateLimitPerMinute,
  });
  const rankings = createRankingsService({ db, clock, timeZone: settings.timeZone });
  const sync = createSyncService({ db, clock, logger, finance: deps.finance, batchSize: settings.sync.batchSize, claimTtlMs: settings.sync.claimTtlMs });

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
    jobs: [{ name: 'finance-sync', schedule: settings.sync.cron, run: async () => void (await sync.runSync()) }],
    client: createInProcessAudienceClient(viewers, createRewardLedger(db)),
    runSync: () => sync.runSync(),
  };
}
