import type { Registry } from 'prom-client';
import type { Db } from '../../shared/db/knex';
import type { Logger } from '../../shared/logger';
import type { Clock, ModuleSurface } from '../../shared/module';
import type { RedisHandle } from '../../shared/redis';
import { guardClient } from '../../shared/resilience';
import type { AudienceServiceClient, RewardAggregateQueries } from '../audience/contract';
import { cacheRequestsCounter } from '../../shared/metrics';
import type { FinanceServiceClient } from '../finance/contract';
import { anchorFinanceRoutes, type AnchorFinance } from './anchors/anchor-finance.routes';
import { createAnchorStatusService } from './anchors/anchor-status.service';
import { anchorRoutes } from './anchors/anchors.routes';
import { createAnchorsService } from './anchors/anchors.service';
import { createInProcessAnchorClient } from './client/in-process';
import { insightRoutes } from './insights/insights.routes';
import { createInsightsService } from './insights/insights.service';
import type { AnchorServiceClient } from './contract';
import { createLiveRoomListsService } from './live-rooms/live-room-lists.service';
import { liveRoomRoutes } from './live-rooms/live-rooms.routes';
import { createLiveRoomsService } from './live-rooms/live-rooms.service';
import { createLiveSessionsService } from './live-rooms/live-sessions.service';
import { createRealtimeMetrics } from './realtime/realtime.metrics';
import { createRealtimeAudit } from './realtime/realtime-audit.service';
import { realtimeRoutes } from './realtime/realtime.routes';
import { createRealtimeHeal } from './realtime/realtime-heal.service';
import { createRealtimeService } from './realtime/realtime.service';
import { createRewardCheck } from './realtime/reward-check';
import { countedAmong } from './realtime/realtime.repository';
import { DEFAULT_EVENT_LOG } from './realtime/realtime.redis';
import { createLiveEventsHub } from './live-events/live-events.hub';
import { createLiveEventsMetrics } from './live-events/live-events.metrics';
import { liveEventRoutes } from './live-events/live-events.routes';
import { createLocalEventLog } from './live-events/local-event-log';
import { createRedisEventFeed } from './live-events/redis-event-feed';
import { createViewerProfiles } from './live-events/viewer-profiles';
import { rewardRecordRoutes } from './reward-records/reward-records.routes';
import { createRewardRecordsService, type RewardRecordQueries } from './reward-records/reward-records.service';

export type { AnchorServiceClient } from './contract';

export interface AnchorModuleDeps {
  db1: Db;
  /** DB1 for reconciliation's whole-table statements (a pool with the long report timeout). */
  reportsDb: Db;
  redis: RedisHandle;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** The audience module's aggregates over the reward table, for the anchor insights (stats, rankings). */
  rewardAggregates: RewardAggregateQueries;
  /** The audience module's per-session reward totals (live sessions' figures). */
  sessionRewards: Pick<AudienceServiceClient, 'sessionRewardTotals'>;
  /** Finance, for an anchor's balance, commission rate and withdrawals. */
  finance: Pick<FinanceServiceClient, 'anchorBalance'> & AnchorFinance;
  /**
   * The audience module's reward table (what the internal realtime endpoint checks a reward against,
   * and the reward records) and viewers (named in events).
   */
  rewards: Pick<AudienceServiceClient, 'storedRewards' | 'viewerProfiles'> & RewardRecordQueries;
  settings: {
    redisKeyPrefix: string;
    flushThreshold: number;
    flushCron: string;
    healCron: string;
    rewardPathTimeoutMs: number;
    journalRetentionMs: number;
    /** Periods of the insights and days of the daily reward summary are in this zone. */
    timeZone: string;
    /** How long an insight (stats, rankings) is served from memory. */
    insightsCacheTtlMs: number;
    /** Breaker timeout of the calls to finance and to the audience module (insights, session totals). */
    moduleCallTimeoutMs: number;
    /** A session's totals are stored for good once it ended this long ago (SESSION_SETTLE_MS). */
    sessionSettleMs: number;
    sessionTotalsCron: string;
    liveEvents: LiveEventSettings;
    /** Breaker timeout of the reward-record queries (lists, daily sums, starting an export). */
    recordsCallTimeoutMs: number;
  };
}

/** The live-room event streams (see live-events.hub.ts). */
export interface LiveEventSettings {
  /** Events kept per room at least (Redis stream MAXLEN ~, and this instance's own log). */
  kept: number;
  heartbeatMs: number;
  maxSubscribers: number;
  maxBufferedBytes: number;
}

/** Rooms whose events this instance logs itself (rewards counted straight into DB1), the most recent ones. */
const LOCAL_LOG_ROOMS = 1000;
/** How long a viewer's nickname and anonymity are reused for events before being asked again. */
const VIEWER_PROFILE_TTL_MS = 5000;

export interface AnchorModule extends ModuleSurface {
  client: AnchorServiceClient;
  /** Folds every pending realtime delta into DB1 (the flush job; also the CLI). */
  flushRealtime(): Promise<{ rooms: number }>;
  /** One run of the heal job (tests, the CLI). */
  healRealtime(): Promise<{ redisReplaced: boolean; flushedRooms: number }>;
  /** The live-room event streams of this instance (tests look at their Redis connection and subscribers). */
  liveEvents: { subscriberCount(): number; redisConnectionName: string | null };
}

/** Anchors, live rooms and their sessions, and the rooms' realtime figures (DB1 + Redis). */
export function createAnchorModule(deps: AnchorModuleDeps): AnchorModule {
  const { settings } = deps;
  const logger = deps.logger.child({ module: 'anchor' });
  const metrics = createRealtimeMetrics(deps.registry);
  const liveEvents = buildLiveEvents(deps, logger);
  const realtime = createRealtimeService({
    db: deps.db1,
    redis: deps.redis,
    keyPrefix: settings.redisKeyPrefix,
    clock: deps.clock,
    logger,
    metrics,
    settings: { flushThreshold: settings.flushThreshold, eventLog: { ...DEFAULT_EVENT_LOG, kept: settings.liveEvents.kept } },
    onCountedInDb: (event) => liveEvents.publishLocal(event),
  });
  const rewardCheck = createRewardCheck({
    rewards: guardClient(deps.rewards, { name: 'audience', logger, timeoutMs: { default: settings.rewardPathTimeoutMs } }),
    countedAmong: (refs) => countedAmong(deps.db1, refs),
    onRefused: (reason) => metrics.refused.inc({ reason }),
  });
  const moduleCalls = { default: settings.moduleCallTimeoutMs };
  const finance = guardClient(deps.finance, { name: 'finance', logger, timeoutMs: moduleCalls });
  const anchors = createAnchorsService({ db: deps.db1, clock: deps.clock, finance });
  const onRoomChanged = (id: number) => realtime.forgetCachedRoom(id);
  const anchorStatus = createAnchorStatusService({ db: deps.db1, clock: deps.clock, onRoomChanged });
  const rooms = createLiveRoomsService({ db: deps.db1, clock: deps.clock, onRoomChanged });
  const lists = createLiveRoomListsService({ db: deps.db1, readMany: (ids) => realtime.getMany(ids) });
  const sessions = createLiveSessionsService({
    db: deps.db1,
    clock: deps.clock,
    logger,
    sessionRewards: guardClient(deps.sessionRewards, { name: 'audience', logger, timeoutMs: moduleCalls }),
    settleMs: settings.sessionSettleMs,
  });
  const heal = createRealtimeHeal({ db: deps.db1, realtime, logger });
  const insights = createInsightsService({
    db: deps.db1,
    clock: deps.clock,
    timeZone: settings.timeZone,
    rewards: guardClient(deps.rewardAggregates, { name: 'audience-aggregates', logger, timeoutMs: moduleCalls }),
    cacheTtlMs: settings.insightsCacheTtlMs,
    cacheRequests: cacheRequestsCounter(deps.registry),
  });
  const { rewardRecords, rewardTotalsByBucket, exportRewardRecords } = deps.rewards;
  const records = createRewardRecordsService({
    db: deps.db1,
    rewards: guardClient(
      { rewardRecords, rewardTotalsByBucket, exportRewardRecords },
      { name: 'audience', logger, timeoutMs: { default: settings.recordsCallTimeoutMs } },
    ),
    clock: deps.clock,
    timeZone: settings.timeZone,
  });
  return {
    name: 'anchor',
    // Realtime first: `/live-rooms/realtime` must not be read as a room id; insights before anchors: nor `/anchors/ranking` as an anchor id.
    routes: [
      {
        prefix: '/anchor/api/v1',
        tag: 'anchor',
        routes: [
          ...insightRoutes(insights, { cacheTtlMs: settings.insightsCacheTtlMs }),
          ...anchorRoutes(anchors, anchorStatus, lists),
          ...anchorFinanceRoutes(deps.db1, finance),
          ...realtimeRoutes(realtime, rewardCheck),
          ...liveEventRoutes(liveEvents, async (id) => (await rooms.getLiveRoom(id)) !== null),
          ...liveRoomRoutes(rooms, lists, sessions),
          ...rewardRecordRoutes(records, logger),
        ],
      },
    ],
    beforeShutdown: () => liveEvents.close(),
    health: { path: '/anchor/actuator/health', requires: ['db1'] },
    // Both work on Redis: while it does not answer there is nothing to flush or heal yet, so the tick is skipped.
    jobs: [
      { name: 'realtime-flush', schedule: settings.flushCron, withoutLease: 'skip', run: async () => void (await realtime.flushAll()) },
      { name: 'realtime-heal', schedule: settings.healCron, withoutLease: 'skip', run: async () => void (await heal.heal()) },
      // DB1 and the reward rows only, and idempotent (a settled session is never written again): safe on every instance.
      {
        name: 'live-session-totals',
        schedule: settings.sessionTotalsCron,
        withoutLease: 'run',
        run: async () => void (await sessions.settleEndedSessions()),
      },
    ],
    client: createInProcessAnchorClient(
      anchors,
      rooms,
      realtime,
      createRealtimeAudit({ db: deps.reportsDb, clock: deps.clock, realtime, journalRetentionMs: settings.journalRetentionMs }),
      heal,
      sessions,
    ),
    healRealtime: () => heal.heal(),
    flushRealtime: () => realtime.flushAll(),
    liveEvents,
  };
}

/** The live-room event streams: one Redis subscriber connection for the instance (none without Redis). */
function buildLiveEvents(deps: AnchorModuleDeps, logger: Logger) {
  const { settings, redis } = deps;
  const notify = { room: (_id: number): void => undefined };
  const feed = redis.client
    ? createRedisEventFeed({ client: redis.client, keyPrefix: settings.redisKeyPrefix, logger, onNotified: (id) => notify.room(id) })
    : null;
  const hub = createLiveEventsHub({
    feed,
    redisUsable: () => redis.isUsable(),
    local: createLocalEventLog({ kept: settings.liveEvents.kept, maxRooms: LOCAL_LOG_ROOMS }),
    profilesOf: createViewerProfiles({ audience: deps.rewards, ttlMs: VIEWER_PROFILE_TTL_MS, logger }),
    metrics: createLiveEventsMetrics(deps.registry),
    logger,
    settings: { ...settings.liveEvents, maxQueuedEvents: settings.liveEvents.kept, redisWaitMs: 1000 },
  });
  notify.room = (id) => hub.notified(id);
  return Object.assign(hub, { redisConnectionName: feed?.connectionName ?? null });
}
