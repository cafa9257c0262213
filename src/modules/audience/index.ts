import type { Registry } from 'prom-client';
import type { SyncSettings } from '../../shared/config';
import type { Db } from '../../shared/db/knex';
import { fromDbTime } from '../../shared/db/time';
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
import { createBoardKeeper } from './boards/board-keeper';
import { createBoardRecorder } from './boards/board-recorder';
import { createBoardMetrics } from './boards/boards.metrics';
import { createBoardStore } from './boards/boards.redis';
import { boardRoutes } from './boards/boards.routes';
import { createLeaderboardsService } from './boards/leaderboards.service';
import { createPeriodCalendar } from './boards/period-calendar';
import { createInProcessAudienceClient } from './client/in-process';
import type { AudienceServiceClient, QuarantineDto } from './contract';
import { createDailyRewardCap } from './rewards/daily-reward-cap';
import { createRewardAggregates } from './rewards/reward-aggregates.service';
import { createRewardLedger } from './rewards/reward-ledger.service';
import { rewardRecordRoutes } from './rewards/reward-records.routes';
import { createRewardRecords, createViewerRewards } from './rewards/reward-records.service';
import { createPlatformTotals } from './rewards/platform-totals.service';
import { createRefunds } from './rewards/refunds.service';
import { createRewardSweeper, type SweepReport } from './rewards/reward-sweeper';
import { createRewardTargets } from './rewards/reward-targets';
import { createRewardWriter } from './rewards/reward-writer';
import { rewardRoutes } from './rewards/rewards.routes';
import { createRewardsService, rateLimitAdmission } from './rewards/rewards.service';
import { unsyncedByState } from './sync/sync-quarantine.repository';
import { createSyncQuarantine } from './sync/sync-quarantine.service';
import { syncRoutes } from './sync/sync.routes';
import { createSyncService } from './sync/sync.service';
import { viewerRoutes } from './viewers/viewers.routes';
import { createViewersService } from './viewers/viewers.service';
import { createSessionTotals } from './rewards/session-totals.service';

export type { AudienceServiceClient, QuarantineDto, RewardAggregateQueries } from './contract';

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
    /** How old a reward must be before the TOP10 boards take it as committed or never to be (TOP10_SETTLE_DELAY_MS). */
    top10SettleDelayMs: number;
    anchorCallTimeoutMs: number;
    moduleCallTimeoutMs: number;
    roomFallbackMs: number;
    rateLimitPerMinute: number;
    /** DAILY_REWARD_CAP as an amount ("5000.00"); null = no cap. */
    dailyRewardCap: string | null;
    sync: SyncSettings;
    /** The outbox sweep of the realtime figures: when it runs, how old an uncounted reward must be, how far back after Redis lost its memory. */
    sweep: { cron: string; delayMs: number; rebuildWindowMs: number };
    rewardQueue: { max: number; maxWaitMs: number };
    /** A page of a reward export not filled by the database within this long fails the export (a dropped connection is not always reported). */
    exportPageTimeoutMs: number;
  };
}

export interface AudienceModule extends ModuleSurface {
  client: AudienceServiceClient;
  /** The finance sync, for the CLI (`sync run`). */
  runSync: () => Promise<{ synced: number; batches: number; pending: number }>;
  /** One run of the reward sweep (the `reward-sweep` job), for the CLI and tests. */
  sweepRewards: () => Promise<SweepReport>;
  /** One run of the `refund-effects` job, for the CLI and tests. */
  finishRefunds: (options?: { confirmAfterMs?: number }) => Promise<{ done: number; failed: number }>;
  /** The rewards the sync quarantined, for the CLI (`sync quarantine list`). */
  listQuarantined: (limit: number) => Promise<QuarantineDto>;
  /** Puts one quarantined reward, or all of them, back in the sync queue (`sync quarantine retry`). */
  requeueQuarantined: (target: number | 'all') => Promise<{ requeued: number }>;
}

/** Viewers, their rewards and consumption, TOP10, and the sync queue towards finance (DB1). */
export function createAudienceModule(deps: AudienceModuleDeps): AudienceModule {
  const { db1: db, clock, logger, settings } = deps;
  const maxRewardFen = parseAmountToFen(settings.maxRewardAmount) ?? 10_000_000;
  const dailyCapFen = settings.dailyRewardCap === null ? 0 : (parseAmountToFen(settings.dailyRewardCap) ?? 0);
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
  const boardMetrics = createBoardMetrics(deps.registry);
  const calendar = createPeriodCalendar(settings.timeZone);
  const boardStore = deps.redis.client ? createBoardStore(deps.redis.client) : null;
  const boardRecorder = createBoardRecorder({
    redis: deps.redis,
    store: boardStore,
    calendar,
    clock,
    logger,
    onOutcome: boardMetrics.record,
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
      dailyCap: dailyCapFen > 0 ? createDailyRewardCap({ capFen: dailyCapFen, timeZone: settings.timeZone }) : null,
      ...rateLimitAdmission(
        createRateLimit({ name: 'rewards', perMinute: settings.rateLimitPerMinute, redis: deps.redis, logger }),
        settings.rateLimitPerMinute,
      ),
    }),
    notifyAnchor: (command) => anchor.applyReward(command),
    onRewardStored: (row) =>
      boardRecorder.record({
        rechargeId: row.id,
        liveRoomId: row.live_room_id,
        audienceId: row.audience_id,
        amountFen: row.amount,
        createdAtMs: fromDbTime(row.created_at).getTime(),
      }),
  });
  const leaderboards = createLeaderboardsService({
    db,
    clock,
    logger,
    calendar,
    redis: deps.redis,
    keeper: boardStore
      ? createBoardKeeper({ db, clock, store: boardStore, recorder: boardRecorder, settleDelayMs: settings.top10SettleDelayMs })
      : null,
    cacheTtlMs: settings.top10CacheTtlMs,
    cacheRequests: cacheRequestsCounter(deps.registry),
    onLoad: boardMetrics.load,
  });
  const sweeper = createRewardSweeper({
    db,
    redis: deps.redis,
    // Breakers of its own: a sweep's burst of applies never opens the reward path's breaker, and an
    // open one tries again after a second (the sweep runs that often), so the rewards a hung module
    // missed are applied about a second after it answers again, not after the reward path's 5 s.
    anchor: guardClient(deps.anchor, {
      name: 'anchor',
      breakerPrefix: 'anchor-sweep',
      logger,
      timeoutMs: { default: settings.anchorCallTimeoutMs },
      resetTimeoutMs: 1000,
    }),
    clock,
    logger,
    delayMs: settings.sweep.delayMs,
    rebuildWindowMs: settings.sweep.rebuildWindowMs,
    onApplied: (count) => metrics.swept.inc(count),
  });
  const refunds = createRefunds({
    db,
    clock,
    logger,
    // Breakers of their own: a refund's calls never open the reward path's.
    anchor: guardClient(deps.anchor, {
      name: 'anchor',
      breakerPrefix: 'anchor-refund',
      logger,
      timeoutMs: { default: settings.moduleCallTimeoutMs },
    }),
    finance,
    boards: boardStore ? { store: boardStore, calendar, usable: () => deps.redis.isUsable() } : null,
    timeZone: settings.timeZone,
    confirmAfterMs: settings.top10SettleDelayMs,
    onEffects: (outcome) => metrics.refundEffects.inc({ outcome }),
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
    lanes: settings.sync.lanes,
    observer: metrics.sync,
  });
  const quarantine = createSyncQuarantine({ db, logger });
  // Exports stream on the reports pool: a download read slowly holds none of the request pool's connections.
  const records = createRewardRecords({
    db,
    exportDb: deps.reportsDb,
    exportPageTimeoutMs: settings.exportPageTimeoutMs,
    onExportRows: (count) => metrics.exportedRows.inc(count),
  });

  return {
    name: 'audience',
    routes: [
      {
        prefix: '/audience/api/v1',
        tag: 'audience',
        // The boards first: `/recharge/top10` would otherwise match `/recharge/{rechargeId}`.
        routes: [
          ...viewerRoutes(viewers),
          ...boardRoutes(leaderboards),
          ...rewardRoutes(rewards, refunds, { maxRewardFen }),
          ...syncRoutes(sync, () => unsyncedByState(db)),
          ...rewardRecordRoutes(createViewerRewards({ db, records })),
        ],
      },
    ],
    health: { path: '/audience/actuator/health', requires: ['db1'] },
    jobs: [
      // Settlement needs no Redis and must not stop for it; runs on several instances share the work (expiring claims).
      { name: 'finance-sync', schedule: settings.sync.cron, withoutLease: 'run', run: async () => void (await sync.runSync()) },
      // Its cursor lives in Redis: without it the sweep cannot run, so the tick is skipped.
      { name: 'reward-sweep', schedule: settings.sweep.cron, withoutLease: 'skip', run: async () => void (await sweeper.sweep()) },
      // Idempotent effects, in DB1, Redis and DB2: safe on several instances at once, and needed without Redis too.
      { name: 'refund-effects', schedule: settings.sweep.cron, withoutLease: 'run', run: async () => void (await refunds.finishRefunds()) },
    ],
    client: createInProcessAudienceClient(
      viewers,
      createRewardLedger({ db, reportsDb: deps.reportsDb }),
      quarantine,
      createRewardAggregates({ db }),
      createSessionTotals({ db }),
      records,
      createPlatformTotals({ reportsDb: deps.reportsDb }),
      leaderboards,
    ),
    runSync: () => sync.runSync(),
    sweepRewards: () => sweeper.sweep(),
    finishRefunds: (options) => refunds.finishRefunds(options),
    listQuarantined: (limit) => quarantine.list(limit),
    requeueQuarantined: (target) => quarantine.requeue(target),
  };
}
