import { LRUCache } from 'lru-cache';
import type { Counter } from 'prom-client';
import type { Db } from '../../../shared/db/knex';
import { formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import { periodStart, type Period } from '../../../shared/time-zone';
import { topContributors } from './rewards.repository';

/** Room-period answers kept in memory: bounds the cache whatever room ids the public asks for. */
const TOP10_CACHE_ENTRIES = 10_000;

export interface Top10 {
  liveRoomId: number;
  period: Period;
  items: Array<{ rank: number; audienceId: number; nickname: string; totalAmount: string; rewardCount: number }>;
}

interface Top10Query {
  liveRoomId: number;
  period: Period;
  from: Date | null;
}

export interface RankingsServiceDeps {
  db: Db;
  clock: Clock;
  timeZone: string;
  /** How long a loaded TOP10 is served before it is read again: the most it lags behind a reward. */
  cacheTtlMs: number;
  cacheRequests: Counter<'cache' | 'result'>;
}

/**
 * A room's TOP10 is a GROUP BY over its rewards of the period, too costly to run per public
 * request: answers are kept for `cacheTtlMs`, and concurrent misses of one key share one load.
 */
export function createRankingsService(deps: RankingsServiceDeps) {
  async function loadTop10({ liveRoomId, period, from }: Top10Query): Promise<Top10> {
    const rows = await topContributors(deps.db, { liveRoomId, from, limit: 10 });
    return {
      liveRoomId,
      period,
      items: rows.map((row, i) => ({
        rank: i + 1,
        audienceId: row.audience_id,
        nickname: row.nickname,
        totalAmount: formatFen(Number(row.total_amount)),
        rewardCount: Number(row.reward_count),
      })),
    };
  }

  // A failed load is not kept (lru-cache drops a rejected fetch): the next request tries again.
  const cache = new LRUCache<string, Top10, Top10Query>({
    max: TOP10_CACHE_ENTRIES,
    ttl: deps.cacheTtlMs,
    // A load whose entry was evicted meanwhile still answers the requests waiting on it.
    ignoreFetchAbort: true,
    fetchMethod: (_key, _stale, { context }) => loadTop10(context),
  });

  return {
    async top10(liveRoomId: number, period: Period): Promise<Top10> {
      const from = periodStart(period, deps.clock(), deps.timeZone);
      // The period's start is in the key: a new day, week or month is a new entry.
      const key = `${liveRoomId}:${period}:${from?.getTime() ?? 'ever'}`;
      const status: LRUCache.Status<string, Top10, Top10Query> = {};
      try {
        return await cache.forceFetch(key, { context: { liveRoomId, period, from }, status });
      } finally {
        const loadedHere = status.fetch === 'miss' || status.fetch === 'stale' || status.fetch === 'refresh';
        deps.cacheRequests.inc({ cache: 'top10', result: loadedHere ? 'miss' : 'hit' });
      }
    },
  };
}

export type RankingsService = ReturnType<typeof createRankingsService>;
