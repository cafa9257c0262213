import type { Clock } from '../../../shared/module';
import { AppError } from '../../../shared/http/app-error';
import type { AudienceServiceClient } from '../../audience/contract';
import type { FinanceServiceClient } from '../../finance/contract';
import { rangeKey, type ReportCache } from './report-cache';
import { bucketBoundaries, dayAround, MAX_BUCKETS, type BucketUnit } from './time-buckets';

export interface OverviewDto {
  from: string;
  to: string;
  totalAmountFen: number;
  rewardCount: number;
  payingViewers: number;
  /** totalAmount / payingViewers, rounded down to the fen; 0 without viewers. */
  arppuFen: number;
  /** The platform's share of the range's rewards that finance has settled (refunded ones reversed out). */
  platformRevenueFen: number;
}

export interface TrendDto {
  from: string;
  to: string;
  bucket: BucketUnit;
  timeZone: string;
  items: Array<{ start: string; totalAmountFen: number; rewardCount: number }>;
}

/** `[from, to)` as asked; without `to`, now; without `from`, the start of `to`'s day in the zone. */
export function rangeOrToday(
  range: { from?: string | undefined; to?: string | undefined },
  now: Date,
  timeZone: string,
): { from: Date; to: Date } {
  const to = range.to ? new Date(range.to) : now;
  const from = range.from ? new Date(range.from) : dayAround(to, timeZone).from;
  if (from >= to) throw AppError.validation([{ field: 'to', message: 'must be after from' }]);
  return { from, to };
}

/** A trend without `from` looks back this many buckets from `to`. */
const DEFAULT_LOOKBACK: Record<BucketUnit, { hours: number }> = { hour: { hours: 24 }, day: { hours: 7 * 24 } };

/**
 * The platform overview and trend, composed from the audience module's platform aggregates and
 * finance's settled totals (no table of either is read here), each answer cached briefly in Redis.
 */
export function createOverviewReports(deps: {
  audience: Pick<AudienceServiceClient, 'platformTotals' | 'platformTotalsByBucket'>;
  finance: Pick<FinanceServiceClient, 'settledBetween'>;
  cache: ReportCache;
  clock: Clock;
  timeZone: string;
}) {
  const { audience, finance, cache, timeZone } = deps;

  return {
    /** `[from, to)`; without them, today so far in TIME_ZONE (`to` defaults to now, `from` to the start of `to`'s day). */
    async overview(range: { from?: string | undefined; to?: string | undefined }): Promise<OverviewDto> {
      const { from, to } = rangeOrToday(range, deps.clock(), timeZone);
      const [fromIso, toIso] = [from.toISOString(), to.toISOString()];
      return cache.through('overview', rangeKey(fromIso, toIso, Boolean(range.to)), async () => {
        const [totals, settled] = await Promise.all([audience.platformTotals(fromIso, toIso), finance.settledBetween(fromIso, toIso)]);
        return {
          from: fromIso,
          to: toIso,
          totalAmountFen: totals.amountFen,
          rewardCount: totals.count,
          payingViewers: totals.payingViewers,
          arppuFen: totals.payingViewers > 0 ? Math.floor(totals.amountFen / totals.payingViewers) : 0,
          platformRevenueFen: settled.reduce((sum, anchor) => sum + anchor.platformFen, 0),
        };
      });
    },

    /**
     * Every bucket (hour or calendar day in TIME_ZONE) meeting `[from, to)`, zeros included, each named
     * by its start; without `to`, now; without `from`, a day of hours or a week of days back.
     */
    async trend(query: { from?: string | undefined; to?: string | undefined; bucket: BucketUnit }): Promise<TrendDto> {
      const to = query.to ? new Date(query.to) : deps.clock();
      const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_LOOKBACK[query.bucket].hours * 3_600_000);
      if (from >= to) throw AppError.validation([{ field: 'to', message: 'must be after from' }]);
      const boundaries = bucketBoundaries(from, to, query.bucket, timeZone);
      if (!boundaries)
        throw AppError.validation([
          { field: 'from', message: `spans more than ${MAX_BUCKETS} ${query.bucket} buckets; ask for a shorter range` },
        ]);
      const [fromIso, toIso] = [from.toISOString(), to.toISOString()];
      const key = `${query.bucket}:${rangeKey(query.from ? fromIso : 'back', toIso, Boolean(query.to))}`;
      return cache.through('trend', key, async () => {
        // The first and last buckets count only their part within [from, to): the trend adds up to the overview of the same range.
        const clipped = [from, ...boundaries.slice(1, -1), to];
        const rows = await audience.platformTotalsByBucket(clipped.map((b) => b.toISOString()));
        const byBucket = new Map(rows.map((r) => [r.bucket, r]));
        return {
          from: fromIso,
          to: toIso,
          bucket: query.bucket,
          timeZone,
          items: boundaries.slice(0, -1).map((start, i) => ({
            start: start.toISOString(),
            totalAmountFen: byBucket.get(i)?.amountFen ?? 0,
            rewardCount: byBucket.get(i)?.count ?? 0,
          })),
        };
      });
    },
  };
}

export type OverviewReports = ReturnType<typeof createOverviewReports>;
