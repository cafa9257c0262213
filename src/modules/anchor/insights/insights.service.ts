import type { Counter } from 'prom-client';
import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import { formatBasisPoints, formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import { periodBounds, type Period } from '../../../shared/time-zone';
import type { RewardAggregateQueries, RewardWindow, SupporterSummaryDto, SupporterTotalsDto } from '../../audience/contract';
import { anchorNotFound } from '../anchors/anchors.service';
import { createAnswerCache } from './answer-cache';
import { findAnchorForInsights, findRoomForInsights, namesOfListedAnchors } from './insights.repository';
import { RANKING_MAX_LIMIT } from './insights.schemas';

export interface InsightsServiceDeps {
  db: Db;
  clock: Clock;
  timeZone: string;
  /** The audience module's aggregates over the reward table (its contract, guarded by a breaker). */
  rewards: RewardAggregateQueries;
  /** How long an answer is served from memory: the most any of these figures lags behind a reward. */
  cacheTtlMs: number;
  cacheRequests: Counter<'cache' | 'result'>;
}

export interface SupporterItem {
  rank: number;
  audienceId: number | null;
  nickname: string | null;
  totalAmount: string;
  rewardCount: number;
}

interface RankedAnchor {
  rank: number;
  anchorId: number;
  name: string;
  totalEarnings: string;
  rewardCount: number;
}

type Window = { from: string | null; to: string | null };

function windowOf(bounds: { from: Date | null; to: Date | null }): Window {
  return { from: bounds.from?.toISOString() ?? null, to: bounds.to?.toISOString() ?? null };
}

/** A range as asked (`from`/`to` of the query) in the canonical ISO form the answer and the cache key use. */
export function windowFromQuery(query: { from?: string | undefined; to?: string | undefined }): Window {
  return windowOf({ from: query.from ? new Date(query.from) : null, to: query.to ? new Date(query.to) : null });
}

function toSupporterItems(rows: readonly SupporterTotalsDto[]): SupporterItem[] {
  return rows.map((row, i) => ({
    rank: i + 1,
    audienceId: row.audienceId,
    nickname: row.nickname,
    totalAmount: formatFen(row.amountFen),
    rewardCount: row.rewardCount,
  }));
}

function summaryBody(anchorId: number, window: RewardWindow, s: SupporterSummaryDto) {
  const share = s.amountFen === 0 ? 0 : Number((BigInt(s.top10AmountFen) * 10_000n) / BigInt(s.amountFen));
  return {
    anchorId,
    ...window,
    supporterCount: s.supporterCount,
    newSupporters: s.newSupporterCount,
    returningSupporters: s.supporterCount - s.newSupporterCount,
    totalEarnings: formatFen(s.amountFen),
    newSupporterEarnings: formatFen(s.newSupporterAmountFen),
    returningSupporterEarnings: formatFen(s.amountFen - s.newSupporterAmountFen),
    top10Earnings: formatFen(s.top10AmountFen),
    top10Share: formatBasisPoints(share),
  };
}

/**
 * What an anchor wants to know about its earnings, aggregated by the audience module in DB1 and kept
 * here for `cacheTtlMs`. Who may ask is checked before any cached answer is served; lists are loaded
 * at their longest (RANKING_MAX_LIMIT) once and cut to the `limit` asked.
 */
export function createInsightsService(deps: InsightsServiceDeps) {
  const { db, rewards } = deps;
  const cacheOf = <T extends object>(name: string) => createAnswerCache<T>({ name, ttlMs: deps.cacheTtlMs, requests: deps.cacheRequests });
  const statsCache = cacheOf<Awaited<ReturnType<RewardAggregateQueries['anchorRewardStats']>>>('anchor-stats');
  const supportersCache = cacheOf<SupporterItem[]>('anchor-supporters');
  const rankingCache = cacheOf<RankedAnchor[]>('anchor-ranking');
  const summaryCache = cacheOf<SupporterSummaryDto>('supporter-summary');

  /** The anchor's own id or admin, then the anchor exists (deleted ones only for admins, as the anchor itself reads). */
  async function authorisedAnchor(principal: Principal | null, anchorId: number): Promise<void> {
    assertMayActFor(principal, { anchorId });
    const anchor = await findAnchorForInsights(db, anchorId);
    if (!anchor || (anchor.deleted_at !== null && principal?.role !== 'admin')) throw anchorNotFound(anchorId);
  }

  async function authorisedRoom(principal: Principal | null, liveRoomId: number): Promise<void> {
    const room = await findRoomForInsights(db, liveRoomId);
    if (!room || (room.anchor_deleted_at !== null && principal?.role !== 'admin'))
      throw AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${liveRoomId}.`);
    assertMayActFor(principal, { anchorId: room.anchor_id });
  }

  /** The period containing now, in the configured time zone. */
  function periodWindow(period: Period): Window {
    return windowOf(periodBounds(period, deps.clock(), deps.timeZone));
  }

  /** Anchors by earnings, deleted ones left out: asks for further pages while deleted ones leave the list short. */
  async function loadRanking(window: Window): Promise<RankedAnchor[]> {
    const ranked: RankedAnchor[] = [];
    for (let offset = 0; ranked.length < RANKING_MAX_LIMIT; offset += RANKING_MAX_LIMIT) {
      const page = await rewards.anchorsByEarnings(window, { offset, limit: RANKING_MAX_LIMIT });
      const names = await namesOfListedAnchors(
        db,
        page.map((row) => row.anchorId),
      );
      for (const row of page) {
        const name = names.get(row.anchorId);
        if (name === undefined || ranked.length === RANKING_MAX_LIMIT) continue;
        ranked.push({
          rank: ranked.length + 1,
          anchorId: row.anchorId,
          name,
          totalEarnings: formatFen(row.amountFen),
          rewardCount: row.rewardCount,
        });
      }
      if (page.length < RANKING_MAX_LIMIT) break;
    }
    return ranked;
  }

  return {
    async anchorStats(principal: Principal | null, anchorId: number) {
      await authorisedAnchor(principal, anchorId);
      const stats = await statsCache.get(`${anchorId}`, () => rewards.anchorRewardStats(anchorId));
      return { anchorId, totalEarnings: formatFen(stats.amountFen), rewardCount: stats.rewardCount, supporterCount: stats.supporterCount };
    },

    async topSupporters(principal: Principal | null, anchorId: number, query: { period: Period; limit: number }) {
      await authorisedAnchor(principal, anchorId);
      const window = periodWindow(query.period);
      const items = await supportersCache.get(`anchor:${anchorId}:${window.from ?? 'ever'}`, async () =>
        toSupporterItems(await rewards.topSupportersOfAnchor(anchorId, window, RANKING_MAX_LIMIT)),
      );
      return { anchorId, period: query.period, ...window, items: items.slice(0, query.limit) };
    },

    async anchorRanking(query: { period: Period; limit: number }) {
      const window = periodWindow(query.period);
      const items = await rankingCache.get(`${query.period}:${window.from ?? 'ever'}`, () => loadRanking(window));
      return { period: query.period, ...window, items: items.slice(0, query.limit) };
    },

    async roomTopContributors(principal: Principal | null, liveRoomId: number, query: { window: Window; limit: number }) {
      await authorisedRoom(principal, liveRoomId);
      const { window } = query;
      const items = await supportersCache.get(`room:${liveRoomId}:${window.from ?? ''}:${window.to ?? ''}`, async () =>
        toSupporterItems(await rewards.topSupportersOfRoom(liveRoomId, window, RANKING_MAX_LIMIT)),
      );
      return { liveRoomId, ...window, items: items.slice(0, query.limit) };
    },

    async supporterSummary(principal: Principal | null, anchorId: number, window: Window) {
      await authorisedAnchor(principal, anchorId);
      const summary = await summaryCache.get(`${anchorId}:${window.from ?? ''}:${window.to ?? ''}`, () =>
        rewards.supporterSummary(anchorId, window),
      );
      return summaryBody(anchorId, window, summary);
    },
  };
}

export type InsightsService = ReturnType<typeof createInsightsService>;
