import { LRUCache } from 'lru-cache';
import type { Counter } from 'prom-client';
import type { Db } from '../../../shared/db/knex';
import { isDatabaseUnavailable } from '../../../shared/db/failures';
import { fromDbTime } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import { formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import type { RedisHandle } from '../../../shared/redis';
import type { Period } from '../../../shared/time-zone';
import { TIE_CAP, type Board, type BoardKeeper } from './board-keeper';
import { PLATFORM, ROOM_PERIODS } from './board-recorder';
import {
  consumptionTied,
  firstRewardTimes,
  topConsumption,
  topViewerTotals,
  viewerNames,
  type BoardScope,
  type ViewerTotalsRow,
} from './boards.repository';
import { boardKeys, type BoardLeader } from './boards.redis';
import type { PeriodCalendar } from './period-calendar';

const TOP = 10;
/** Board answers kept in memory: bounds the cache whatever room ids the public asks for. */
const CACHE_ENTRIES = 10_000;

export interface LeaderboardItem {
  rank: number;
  /** null (with `nickname`) for a viewer who chose to be anonymous: still ranked, not named. */
  audienceId: number | null;
  nickname: string | null;
  totalAmount: string;
  rewardCount: number;
}

export interface Leaderboard {
  period: Period;
  /** The period's bounds, `[from, to)`; both null for `all`. */
  from: string | null;
  to: string | null;
  items: LeaderboardItem[];
}

export type LoadSource = 'redis' | 'db';

export interface LeaderboardsServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  calendar: PeriodCalendar;
  redis: RedisHandle;
  /** null without Redis: every board is a GROUP BY over DB1. */
  keeper: BoardKeeper | null;
  /** How long a loaded board is served before it is loaded again: the most it lags (a reward, a viewer's anonymous flag). */
  cacheTtlMs: number;
  cacheRequests: Counter<'cache' | 'result'>;
  onLoad: (source: LoadSource) => void;
}

function byRank(a: BoardLeader, b: BoardLeader): number {
  return b.totalFen - a.totalFen || a.firstAtMs - b.firstAtMs || a.audienceId - b.audienceId;
}

function fromTotalsRow(row: ViewerTotalsRow): BoardLeader {
  return {
    audienceId: row.audience_id,
    totalFen: Number(row.total_amount),
    rewardCount: Number(row.reward_count),
    firstAtMs: fromDbTime(row.first_at).getTime(),
  };
}

/**
 * The TOP10 boards: a room's and the platform's, by day, week, month or all time. Served from the
 * Redis boards (board-keeper.ts) when Redis answers, else by a GROUP BY over DB1; the platform's
 * all-time board is always the viewers' consumption totals. Answers are kept `cacheTtlMs`, and
 * concurrent misses of one board share one load, so neither Redis nor DB1 sees a load per request.
 */
export function createLeaderboardsService(deps: LeaderboardsServiceDeps) {
  const { db, logger } = deps;

  /** The platform's all-time leaders: the largest consumption totals, ties to the earlier first reward. */
  async function leadersByConsumption(): Promise<BoardLeader[]> {
    const top = await topConsumption(db, TOP);
    const last = top[TOP - 1];
    const tied = last ? await consumptionTied(db, Number(last.total_amount), TOP + TIE_CAP) : [];
    const candidates = new Map([...top, ...tied].map((row) => [row.id, row]));
    const firsts = await firstRewardTimes(db, [...candidates.keys()]);
    const firstAt = new Map(firsts.map((row) => [row.audience_id, fromDbTime(row.first_at).getTime()]));
    return [...candidates.values()].map((row) => ({
      audienceId: row.id,
      totalFen: Number(row.total_amount),
      rewardCount: Number(row.reward_count),
      firstAtMs: firstAt.get(row.id) ?? 0,
    }));
  }

  async function leadersFromDb(board: Board): Promise<BoardLeader[]> {
    if (board.scope.liveRoomId === null && board.period === 'all') return leadersByConsumption();
    return (await topViewerTotals(db, board.scope, { from: board.from, before: board.to }, TOP)).map(fromTotalsRow);
  }

  async function leaders(board: Board): Promise<BoardLeader[]> {
    const inRedis = !(board.scope.liveRoomId === null && board.period === 'all');
    if (deps.keeper && inRedis && deps.redis.isUsable()) {
      try {
        const found = await deps.keeper.leaders(board, TOP);
        deps.onLoad('redis');
        return found;
      } catch (error) {
        // DB1 failing fails the load either way; Redis failing leaves DB1's GROUP BY.
        if (error instanceof AppError || isDatabaseUnavailable(error)) throw error;
        logger.warn({ err: error, board: board.keys.totals, degraded: true }, 'TOP10 board unavailable in redis; ranking from DB1');
      }
    }
    const found = await leadersFromDb(board);
    deps.onLoad('db');
    return found;
  }

  async function load(board: Board): Promise<Leaderboard> {
    const ranked = (await leaders(board)).sort(byRank).slice(0, TOP);
    const names = new Map(
      (
        await viewerNames(
          db,
          ranked.map((r) => r.audienceId),
        )
      ).map((row) => [row.id, row]),
    );
    const items = ranked.flatMap((leader) => {
      const viewer = names.get(leader.audienceId);
      if (!viewer) return [];
      const named = !viewer.anonymous;
      const item: Omit<LeaderboardItem, 'rank'> = {
        audienceId: named ? leader.audienceId : null,
        nickname: named ? viewer.nickname : null,
        totalAmount: formatFen(leader.totalFen),
        rewardCount: leader.rewardCount,
      };
      return [item];
    });
    return {
      period: board.period,
      from: board.from?.toISOString() ?? null,
      to: board.to?.toISOString() ?? null,
      items: items.map((item, i) => ({ rank: i + 1, ...item })),
    };
  }

  // A failed load is not kept (lru-cache drops a rejected fetch): the next request tries again.
  const cache = new LRUCache<string, Leaderboard, Board>({
    max: CACHE_ENTRIES,
    ttl: deps.cacheTtlMs,
    // A load whose entry was evicted meanwhile still answers the requests waiting on it.
    ignoreFetchAbort: true,
    fetchMethod: (_key, _stale, { context }) => load(context),
  });

  async function board(scope: BoardScope, period: Period, cacheName: string): Promise<Leaderboard> {
    const { from, to } = deps.calendar.bounds(period, deps.clock());
    // The period's start is in the key: a new day, week or month is a new board.
    const keys = boardKeys(scope, period, from);
    const status: LRUCache.Status<string, Leaderboard, Board> = {};
    try {
      return await cache.forceFetch(keys.totals, { context: { scope, period, from, to, keys }, status });
    } finally {
      const loadedHere = status.fetch === 'miss' || status.fetch === 'stale' || status.fetch === 'refresh';
      deps.cacheRequests.inc({ cache: cacheName, result: loadedHere ? 'miss' : 'hit' });
    }
  }

  return {
    /**
     * Drops a room's boards of the periods containing now from Redis (and this instance's copies of
     * their answers) and loads them again: each is rebuilt from DB1. 503 while Redis does not answer.
     */
    async rebuildRoomBoards(liveRoomId: number): Promise<Leaderboard[]> {
      const keeper = deps.keeper;
      if (!keeper || !deps.redis.isUsable()) throw AppError.unavailable('Redis does not answer: the TOP10 boards cannot be rebuilt now.');
      const rebuilt: Leaderboard[] = [];
      for (const period of ROOM_PERIODS) {
        const { from, to } = deps.calendar.bounds(period, deps.clock());
        const keys = boardKeys({ liveRoomId }, period, from);
        await keeper.drop({ scope: { liveRoomId }, period, from, to, keys });
        cache.delete(keys.totals);
        rebuilt.push(await board({ liveRoomId }, period, 'top10'));
      }
      return rebuilt;
    },
    /** A room's TOP10 for the period containing now. */
    async roomTop10(liveRoomId: number, period: Period): Promise<Leaderboard & { liveRoomId: number }> {
      return { liveRoomId, ...(await board({ liveRoomId }, period, 'top10')) };
    },
    /** The platform-wide TOP10 viewers for the period containing now. */
    platformTop10: (period: Period): Promise<Leaderboard> => board(PLATFORM, period, 'top10_viewers'),
  };
}

export type LeaderboardsService = ReturnType<typeof createLeaderboardsService>;
