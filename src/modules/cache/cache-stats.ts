import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { redisCacheRequests } from '../../shared/metrics';

export interface HitRate {
  hits: number;
  misses: number;
  /** hits / (hits + misses), null before the first lookup. */
  hitRate: number | null;
}

export interface CacheStats {
  redis: {
    version: string;
    uptimeSeconds: number;
    connectedClients: number;
    /** Bytes. */
    usedMemory: number;
    usedMemoryPeak: number;
    /** 0: no limit. */
    maxMemory: number;
    maxMemoryPolicy: string;
    evictedKeys: number;
    expiredKeys: number;
  };
  /** The database this service uses: every key in it, and those with a TTL. */
  keyspace: { db: number; keys: number; expires: number };
  /** Redis's own count of key lookups that found a key or not, all clients together, since it started. */
  server: HitRate;
  /**
   * This instance's lookups of data cached in Redis since it started (`redis_cache_requests_total`):
   * per cache, and together — the seed's `redis_hit_rate`, which Prometheus sums over instances.
   */
  service: HitRate & { caches: Array<HitRate & { cache: string }> };
}

/** `INFO` text -> field -> value. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

function rate(hits: number, misses: number): HitRate {
  return { hits, misses, hitRate: hits + misses === 0 ? null : hits / (hits + misses) };
}

export function createCacheStats(deps: { registry: Registry }) {
  const requests = redisCacheRequests(deps.registry);

  async function serviceRates(): Promise<CacheStats['service']> {
    const byCache = new Map<string, { hits: number; misses: number }>();
    for (const { labels, value } of (await requests.get()).values) {
      const name = String(labels.cache);
      const entry = byCache.get(name) ?? { hits: 0, misses: 0 };
      if (labels.result === 'hit') entry.hits += value;
      else entry.misses += value;
      byCache.set(name, entry);
    }
    const caches = [...byCache].sort(([a], [b]) => a.localeCompare(b)).map(([cache, c]) => ({ cache, ...rate(c.hits, c.misses) }));
    const total = caches.reduce((sum, c) => ({ hits: sum.hits + c.hits, misses: sum.misses + c.misses }), { hits: 0, misses: 0 });
    return { ...rate(total.hits, total.misses), caches };
  }

  return {
    async read(client: Redis): Promise<CacheStats> {
      const [info, service] = await Promise.all([client.info(), serviceRates()]);
      const f = parseInfo(info);
      const num = (name: string) => Number(f.get(name) ?? 0);
      // db0:keys=12,expires=3,avg_ttl=0
      const db = client.options.db ?? 0;
      const line = f.get(`db${db}`) ?? '';
      const counts = Object.fromEntries(line.split(',').map((part) => part.split('=') as [string, string]));
      return {
        redis: {
          version: f.get('redis_version') ?? 'unknown',
          uptimeSeconds: num('uptime_in_seconds'),
          connectedClients: num('connected_clients'),
          usedMemory: num('used_memory'),
          usedMemoryPeak: num('used_memory_peak'),
          maxMemory: num('maxmemory'),
          maxMemoryPolicy: f.get('maxmemory_policy') ?? 'unknown',
          evictedKeys: num('evicted_keys'),
          expiredKeys: num('expired_keys'),
        },
        keyspace: { db, keys: Number(counts.keys ?? 0), expires: Number(counts.expires ?? 0) },
        server: rate(num('keyspace_hits'), num('keyspace_misses')),
        service,
      };
    },
  };
}
