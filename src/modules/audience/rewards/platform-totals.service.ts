import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import type { AudienceServiceClient } from '../contract';
import { platformBuckets, platformTotals } from './platform-totals.repository';
import { checkedBoundaries } from './reward-records.service';

export type PlatformQueries = Pick<AudienceServiceClient, 'platformTotals' | 'platformTotalsByBucket'>;

/** The platform-wide aggregates the analytics reports compose, on the reports pool (a year of rewards is one long statement). */
export function createPlatformTotals(deps: { reportsDb: Db }): PlatformQueries {
  return {
    async platformTotals(from, to) {
      const [start, end] = [new Date(from), new Date(to)];
      if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start >= end)
        throw AppError.validation([{ field: 'to', message: 'must be an ISO instant after from' }]);
      return platformTotals(deps.reportsDb, start, end);
    },
    platformTotalsByBucket: (boundaries) => platformBuckets(deps.reportsDb, checkedBoundaries(boundaries)),
  };
}
