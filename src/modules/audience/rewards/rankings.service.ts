import type { Db } from '../../../shared/db/knex';
import { formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import { periodStart, type Period } from '../../../shared/time-zone';
import { topContributors } from './rewards.repository';

export function createRankingsService(deps: { db: Db; clock: Clock; timeZone: string }) {
  return {
    async top10(liveRoomId: number, period: Period) {
      const from = periodStart(period, deps.clock(), deps.timeZone);
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
    },
  };
}

export type RankingsService = ReturnType<typeof createRankingsService>;
