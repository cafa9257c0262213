import type { Registry } from 'prom-client';
import type { Logger } from '../../../shared/logger';
import { redisCacheRequests } from '../../../shared/metrics';
import type { RedisHandle } from '../../../shared/redis';

export interface ReportCache {
  /** The cached answer under `key`, else `load()`'s, kept `ttlMs`. Without a usable Redis every call loads. */
  through<T>(report: string, key: string, load: () => Promise<T>): Promise<T>;
}

/** The cache family of the analytics answers in Redis (under REDIS_KEY_PREFIX): `analytics:<report>:<parameters>`. */
export const ANALYTICS_KEY_FAMILY = 'analytics:';

/**
 * The cache key of a range: an open end ("up to now", "a day back") is named as such, not by the
 * instant it resolved to, so requests without `to` share an answer for up to the TTL — which says up
 * to when it counted in its own `to` — instead of each missing the cache by a millisecond.
 */
export function rangeKey(from: string, to: string, toAsked: boolean): string {
  return `${from}:${toAsked ? to : 'now'}`;
}

/**
 * Expensive report answers kept in Redis for a short while (ANALYTICS_CACHE_TTL_MS), shared by every
 * instance. Each lookup counts in `redis_cache_requests_total{cache="analytics"}` (hit or miss), which
 * the seed's `redis_hit_rate` sums with the realtime figures'. A Redis that fails or does not answer
 * costs a miss, never an error: the report is computed from the databases.
 */
export function createReportCache(deps: { redis: RedisHandle; registry: Registry; logger: Logger; ttlMs: number }): ReportCache {
  const requests = redisCacheRequests(deps.registry);
  return {
    async through(report, key, load) {
      const client = deps.redis.client;
      const redisKey = `${ANALYTICS_KEY_FAMILY}${report}:${key}`;
      if (client && deps.redis.isUsable() && deps.ttlMs > 0) {
        const cached = await client.get(redisKey).catch(() => null);
        if (cached !== null) {
          requests.inc({ cache: 'analytics', result: 'hit' });
          return JSON.parse(cached) as Awaited<ReturnType<typeof load>>;
        }
      }
      requests.inc({ cache: 'analytics', result: 'miss' });
      const answer = await load();
      if (client && deps.redis.isUsable() && deps.ttlMs > 0)
        await client.set(redisKey, JSON.stringify(answer), 'PX', deps.ttlMs).catch((error: unknown) => {
          deps.logger.warn({ err: error, key: redisKey, degraded: true }, 'an analytics answer could not be cached');
        });
      return answer;
    },
  };
}
