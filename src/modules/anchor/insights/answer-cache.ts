import { LRUCache } from 'lru-cache';
import type { Counter } from 'prom-client';

/** Answers kept per cache: bounds memory whatever ids and ranges callers ask for. */
const MAX_ENTRIES = 10_000;

/**
 * Answers of aggregate queries kept for `ttlMs` (the most they lag behind a reward), counted as hits
 * and misses under `name` in cache_requests_total; concurrent misses of one key share one load, and
 * a failed load is not kept. The same mechanism as the TOP10's (audience rankings.service.ts).
 */
export function createAnswerCache<T extends object>(options: { name: string; ttlMs: number; requests: Counter<'cache' | 'result'> }) {
  const cache = new LRUCache<string, T, () => Promise<T>>({
    max: MAX_ENTRIES,
    ttl: options.ttlMs,
    // A load whose entry was evicted meanwhile still answers the requests waiting on it.
    ignoreFetchAbort: true,
    fetchMethod: (_key, _stale, { context }) => context(),
  });

  return {
    async get(key: string, load: () => Promise<T>): Promise<T> {
      const status: LRUCache.Status<string, T, () => Promise<T>> = {};
      try {
        return await cache.forceFetch(key, { context: load, status });
      } finally {
        const loadedHere = status.fetch === 'miss' || status.fetch === 'stale' || status.fetch === 'refresh';
        options.requests.inc({ cache: options.name, result: loadedHere ? 'miss' : 'hit' });
      }
    },
  };
}

export type AnswerCache<T extends object> = ReturnType<typeof createAnswerCache<T>>;
