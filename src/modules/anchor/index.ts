import type { Registry } from 'prom-client';
import type { Db } from '../../shared/db/knex';
import type { Logger } from '../../shared/logger';
import type { Clock, ModuleSurface } from '../../shared/module';
import type { RedisHandle } from '../../shared/redis';
import { guardClient } from '../../shared/resilience';
import type { AudienceServiceClient } from '../audience/contract';
import { anchorRoutes } from './anchors/anchors.routes';
import { createAnchorsService } from './anchors/anchors.service';
import { createInProcessAnchorClient } from './client/in-process';
import type { AnchorServiceClient } from './contract';
import { liveRoomRoutes } from './live-rooms/live-rooms.routes';
import { createLiveRoomsService } from './live-rooms/live-rooms.service';
import { createRealtimeMetrics } from './realtime/realtime.metrics';
import { createRealtimeAudit } from './realtime/realtime-audit.service';
import { realtimeRoutes } from './realtime/realtime.routes';
import { createRealtimeHeal } from './realtime/realtime-heal.service';
import { createRealtimeService } from './realtime/realtime.service';
import { createRewardCheck } from './realtime/reward-check';
import { countedAmong } from './realtime/realtime.repository';

export type { AnchorServiceClient } from './contract';

export interface AnchorModuleDeps {
  db1: Db;
  /** DB1 for reconciliation's whole-table statements (a pool with the long report timeout). */
  reportsDb: Db;
  redis: RedisHandle;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** The audience module's reward table: what the internal realtime endpoint checks a reward against. */
  rewards: Pick<AudienceServiceClient, 'storedRewards'>;
  settings: {
    redisKeyPrefix: string;
    flushThreshold: number;
    flushCron: string;
    healCron: string;
    rewardPathTimeoutMs: number;
    journalRetentionMs: number;
  };
}

export interface AnchorModule extends ModuleSurface {
  client: AnchorServiceClient;
  /** Folds every pending realtime delta into DB1 (the flush job; also the CLI). */
  flushRealtime(): Promise<{ rooms: number }>;
  /** One run of the heal job (tests, the CLI). */
  healRealtime(): Promise<{ redisReplaced: boolean; flushedRooms: number }>;
}

/** Anchors, live rooms and their sessions, and the rooms' realtime figures (DB1 + Redis). */
export function createAnchorModule(deps: AnchorModuleDeps): AnchorModule {
  const { settings } = deps;
  const logger = deps.logger.child({ module: 'anchor' });
  const metrics = createRealtimeMetrics(deps.registry);
  const realtime = createRealtimeService({
    db: deps.db1,
    redis: deps.redis,
    keyPrefix: settings.redisKeyPrefix,
    clock: deps.clock,
    logger,
    metrics,
    settings: { flushThreshold: settings.flushThreshold },
  });
  const rewardCheck = createRewardCheck({
    rewards: guardClient(deps.rewards, { name: 'audience', logger, timeoutMs: { default: settings.rewardPathTimeoutMs } }),
    countedAmong: (refs) => countedAmong(deps.db1, refs),
    onRefused: (reason) => metrics.refused.inc({ reason }),
  });
  const anchors = createAnchorsService({ db: deps.db1, clock: deps.clock });
  const rooms = createLiveRoomsService({ db: deps.db1, clock: deps.clock, onRoomChanged: (id) => realtime.forgetCachedRoom(id) });
  const heal = createRealtimeHeal({ db: deps.db1, realtime, logger });
  return {
    name: 'anchor',
    // Realtime first: `/live-rooms/realtime` must not be read as a room id.
    routes: [
      {
        prefix: '/anchor/api/v1',
        tag: 'anchor',
        routes: [...anchorRoutes(anchors), ...realtimeRoutes(realtime, rewardCheck), ...liveRoomRoutes(rooms)],
      },
    ],
    health: { path: '/anchor/actuator/health', requires: ['db1'] },
    // Both work on Redis: while it does not answer there is nothing to flush or heal yet, so the tick is skipped.
    jobs: [
      { name: 'realtime-flush', schedule: settings.flushCron, withoutLease: 'skip', run: async () => void (await realtime.flushAll()) },
      { name: 'realtime-heal', schedule: settings.healCron, withoutLease: 'skip', run: async () => void (await heal.heal()) },
    ],
    client: createInProcessAnchorClient(
      anchors,
      rooms,
      realtime,
      createRealtimeAudit({ db: deps.reportsDb, clock: deps.clock, realtime, journalRetentionMs: settings.journalRetentionMs }),
      heal,
    ),
    healRealtime: () => heal.heal(),
    flushRealtime: () => realtime.flushAll(),
  };
}
