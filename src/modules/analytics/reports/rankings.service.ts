import { AppError } from '../../../shared/http/app-error';
import type { Clock } from '../../../shared/module';
import type { AnchorServiceClient, LiveSessionDto } from '../../anchor/contract';
import type { AudienceServiceClient, RewardTotals, ViewerTotalsDto } from '../../audience/contract';
import { rangeOrToday } from './overview.service';
import { rangeKey, type ReportCache } from './report-cache';

type Range = { from?: string | undefined; to?: string | undefined };

export interface AnchorRankDto {
  rank: number;
  anchorId: number;
  name: string | null;
  status: string | null;
  amountFen: number;
  rewardCount: number;
}

export interface RoomReportDto {
  liveRoomId: number;
  anchorId: number;
  from: string;
  to: string;
  totals: RewardTotals & { payingViewers: number };
  peakMinute: ({ start: string } & RewardTotals) | null;
  sessions: LiveSessionDto[];
}

export interface DistributionDto {
  from: string;
  to: string;
  /** Every bucket, empty ones included: amounts in [minFen, maxFen), maxFen null for the last. */
  buckets: Array<{ minFen: number; maxFen: number | null } & RewardTotals>;
}

/** The amount buckets' lower edges in fen: under 1.00, under 10.00, under 100.00, under 1000.00, under 10000.00, and above. */
export const AMOUNT_EDGES_FEN = [1, 100, 1_000, 10_000, 100_000, 1_000_000] as const;

/** Sessions a room report lists at most (newest first). */
const REPORT_SESSIONS = 100;

/** Rankings, a room's report and the amount distribution, composed from the other modules' contracts and cached briefly. */
export function createRankingReports(deps: {
  audience: Pick<AudienceServiceClient, 'anchorsByEarnings' | 'topViewersBetween' | 'amountDistribution' | 'roomActivity'>;
  anchor: Pick<AnchorServiceClient, 'getAnchor' | 'getLiveRoom' | 'sessionsOfRoom'>;
  cache: ReportCache;
  clock: Clock;
  timeZone: string;
}) {
  const { audience, anchor, cache, timeZone } = deps;
  const rangeOf = (range: Range) => {
    const { from, to } = rangeOrToday(range, deps.clock(), timeZone);
    const [fromIso, toIso] = [from.toISOString(), to.toISOString()];
    return { from: fromIso, to: toIso, key: rangeKey(fromIso, toIso, Boolean(range.to)) };
  };

  return {
    async anchors(range: Range, limit: number): Promise<{ from: string; to: string; items: AnchorRankDto[] }> {
      const { from, to, key } = rangeOf(range);
      return cache.through('anchors', `${limit}:${key}`, async () => {
        const earnings = await audience.anchorsByEarnings({ from, to }, { offset: 0, limit });
        const profiles = await Promise.all(earnings.map((e) => anchor.getAnchor(e.anchorId)));
        return {
          from,
          to,
          items: earnings.map((e, i) => ({
            rank: i + 1,
            anchorId: e.anchorId,
            name: profiles[i]?.name ?? null,
            status: profiles[i]?.status ?? null,
            amountFen: e.amountFen,
            rewardCount: e.rewardCount,
          })),
        };
      });
    },

    async viewers(range: Range, limit: number): Promise<{ from: string; to: string; items: Array<ViewerTotalsDto & { rank: number }> }> {
      const { from, to, key } = rangeOf(range);
      return cache.through('viewers', `${limit}:${key}`, async () => ({
        from,
        to,
        items: (await audience.topViewersBetween(from, to, limit)).map((v, i) => ({ rank: i + 1, ...v })),
      }));
    },

    async room(liveRoomId: number, range: Range): Promise<RoomReportDto> {
      const { from, to, key } = rangeOf(range);
      const room = await anchor.getLiveRoom(liveRoomId);
      if (!room) throw AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${liveRoomId}.`);
      return cache.through('room', `${liveRoomId}:${key}`, async () => {
        const [activity, sessions] = await Promise.all([
          audience.roomActivity(liveRoomId, from, to),
          anchor.sessionsOfRoom(liveRoomId, { from, to }, REPORT_SESSIONS),
        ]);
        return {
          liveRoomId,
          anchorId: room.anchorId,
          from,
          to,
          totals: activity.totals,
          peakMinute: activity.peakMinute,
          sessions: sessions ?? [],
        };
      });
    },

    async distribution(range: Range): Promise<DistributionDto> {
      const { from, to, key } = rangeOf(range);
      return cache.through('distribution', key, async () => {
        const rows = new Map((await audience.amountDistribution(from, to, AMOUNT_EDGES_FEN)).map((r) => [r.bucket, r]));
        return {
          from,
          to,
          buckets: AMOUNT_EDGES_FEN.map((minFen, i) => ({
            minFen,
            maxFen: AMOUNT_EDGES_FEN[i + 1] ?? null,
            count: rows.get(i)?.count ?? 0,
            amountFen: rows.get(i)?.amountFen ?? 0,
          })),
        };
      });
    },
  };
}

export type RankingReports = ReturnType<typeof createRankingReports>;
