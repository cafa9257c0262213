import type { Db } from '../../../shared/db/knex';
import { fromDbTime } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { AMOUNT_DISTRIBUTION_MAX_EDGES, type AudienceServiceClient } from '../contract';
import { amountDistribution, platformBuckets, platformTotals, roomPeakMinute, roomTotals, topViewers } from './platform-totals.repository';
import { viewerNames } from './reward-aggregates.repository';
import { checkedBoundaries } from './reward-records.service';

export type PlatformQueries = Pick<
  AudienceServiceClient,
  'platformTotals' | 'platformTotalsByBucket' | 'topViewersBetween' | 'amountDistribution' | 'roomActivity'
>;

/** Most viewers one `topViewersBetween` call lists. */
const TOP_VIEWERS_MAX = 100;

function checkedRange(from: string, to: string): { start: Date; end: Date } {
  const [start, end] = [new Date(from), new Date(to)];
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start >= end)
    throw AppError.validation([{ field: 'to', message: 'must be an ISO instant after from' }]);
  return { start, end };
}

/** The platform-wide aggregates the analytics reports compose, on the reports pool (a year of rewards is one long statement). */
export function createPlatformTotals(deps: { reportsDb: Db }): PlatformQueries {
  const db = deps.reportsDb;
  return {
    async platformTotals(from, to) {
      const { start, end } = checkedRange(from, to);
      return platformTotals(db, start, end);
    },

    platformTotalsByBucket: (boundaries) => platformBuckets(db, checkedBoundaries(boundaries)),

    async topViewersBetween(from, to, limit) {
      const { start, end } = checkedRange(from, to);
      if (!Number.isInteger(limit) || limit < 1 || limit > TOP_VIEWERS_MAX)
        throw AppError.validation([{ field: 'limit', message: `must be 1 to ${TOP_VIEWERS_MAX}` }]);
      const rows = await topViewers(db, start, end, limit);
      const names = new Map(
        (
          await viewerNames(
            db,
            rows.map((r) => r.audienceId),
          )
        ).map((v) => [v.id, v]),
      );
      return rows.map((r) => {
        const viewer = names.get(r.audienceId);
        return { ...r, nickname: viewer?.nickname ?? null, anonymous: Boolean(viewer?.anonymous) };
      });
    },

    async amountDistribution(from, to, edgesFen) {
      const { start, end } = checkedRange(from, to);
      const ascending = edgesFen.every((e, i) => Number.isSafeInteger(e) && e >= 1 && (i === 0 || e > (edgesFen[i - 1] as number)));
      if (edgesFen.length < 1 || edgesFen.length > AMOUNT_DISTRIBUTION_MAX_EDGES || !ascending)
        throw AppError.validation([
          { field: 'edges', message: `must be 1 to ${AMOUNT_DISTRIBUTION_MAX_EDGES} ascending amounts in fen, the first at least 1` },
        ]);
      return amountDistribution(db, start, end, edgesFen);
    },

    async roomActivity(liveRoomId, from, to) {
      const { start, end } = checkedRange(from, to);
      const [totals, peak] = await Promise.all([roomTotals(db, liveRoomId, start, end), roomPeakMinute(db, liveRoomId, start, end)]);
      return {
        totals,
        peakMinute: peak ? { start: fromDbTime(peak.minute).toISOString(), count: peak.count, amountFen: peak.amountFen } : null,
      };
    },
  };
}
