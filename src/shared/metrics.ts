import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process (per app in tests, so apps never share counters).
 * Modules register their own metrics on `registry`.
 */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  problems: Counter<'code' | 'status'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_server_requests_seconds',
    help: 'HTTP request duration by route template, method and status.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const problems = new Counter({
    name: 'http_problems_total',
    help: 'problem+json responses by stable error code.',
    labelNames: ['code', 'status'],
    registers: [registry],
  });
  return { registry, httpDuration, problems };
}

/**
 * `cache_requests_total{cache,result}`: the in-process caches' hits and misses, one counter per
 * registry whichever module asks for it first (a second registration under one name would throw).
 */
export function cacheRequestsCounter(registry: Registry): Counter<'cache' | 'result'> {
  const existing = registry.getSingleMetric('cache_requests_total');
  if (existing) return existing as Counter<'cache' | 'result'>;
  return new Counter({
    name: 'cache_requests_total',
    help: 'In-process cache lookups by cache and result: hit (answered from memory, or by a load another request started) or miss (this request loaded it).',
    labelNames: ['cache', 'result'],
    registers: [registry],
  });
}

/** `redis_cache_requests_total{cache, result}`: lookups that Redis answered (hit) or that went to the databases (miss). */
export function redisCacheRequests(registry: Registry): Counter<'cache' | 'result'> {
  const existing = registry.getSingleMetric('redis_cache_requests_total');
  if (existing) return existing as Counter<'cache' | 'result'>;
  return new Counter({
    name: 'redis_cache_requests_total',
    help: 'Lookups of data cached in Redis, by cache (realtime: a room figures base; analytics: a report answer) and result: hit (served from Redis) or miss (read from the databases, then cached).',
    labelNames: ['cache', 'result'],
    registers: [registry],
  });
}
