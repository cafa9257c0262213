import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/logger';
import type { Clock, ModuleSurface } from '../../shared/module';
import type { RedisHandle } from '../../shared/redis';
import { guardClient } from '../../shared/resilience';
import type { AnchorServiceClient } from '../anchor/contract';
import type { AudienceServiceClient } from '../audience/contract';
import { createCacheStats } from './cache-stats';
import { cacheRoutes } from './cache.routes';
import { createCacheService } from './cache.service';
import { createKeyBrowser } from './key-browser';
import { createKeySpace } from './key-space';

export { KEY_FAMILIES } from './key-space';

export interface CacheModuleDeps {
  redis: RedisHandle;
  anchor: AnchorServiceClient;
  audience: AudienceServiceClient;
  clock: Clock;
  logger: Logger;
  /** Where `redis_cache_requests_total` is counted (the service's hit rate). */
  registry: Registry;
  /** rebuildTimeoutMs: a rebuild flushes the room and reads its rewards, grouped, through the other modules. */
  settings: { keyPrefix: string; rebuildTimeoutMs: number };
}

/**
 * Management of what the service keeps in Redis (served under /cache): its keys by pattern, one key,
 * deleting one, Redis's memory and hit rates, and rebuilding a room's realtime keys and boards from
 * the databases through the anchor and audience contracts. It owns no data of its own.
 */
export function createCacheModule(deps: CacheModuleDeps): ModuleSurface {
  const logger = deps.logger.child({ module: 'cache' });
  if (deps.redis.client && !deps.settings.keyPrefix)
    logger.warn(
      'REDIS_KEY_PREFIX is empty: the cache endpoints cannot tell this service’s keys from another application’s of the same family names in this Redis database; set a prefix',
    );
  const timeoutMs = { default: deps.settings.rebuildTimeoutMs };
  const service = createCacheService({
    keys: createKeyBrowser({ redis: deps.redis, keySpace: createKeySpace(deps.settings.keyPrefix) }),
    stats: createCacheStats({ registry: deps.registry }),
    anchor: guardClient(deps.anchor, { name: 'anchor', breakerPrefix: 'anchor-cache', logger, timeoutMs }),
    audience: guardClient(deps.audience, { name: 'audience', breakerPrefix: 'audience-cache', logger, timeoutMs }),
    clock: deps.clock,
    logger,
  });
  return {
    name: 'cache',
    routes: [{ prefix: '/cache/api/v1', tag: 'cache', routes: cacheRoutes(service) }],
    health: { path: '/cache/actuator/health', requires: ['redis'] },
    jobs: [],
  };
}
