import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import { REWARD_AGGREGATES_MAX_ROWS, type RewardAggregateQueries, type RewardWindow, type SupporterTotalsDto } from '../contract';
import {
  anchorsByEarnings,
  anchorStats,
  supporterSplit,
  topSupporters,
  topSupportersAmount,
  viewerNames,
  type SupporterRow,
  type TimeBounds,
} from './reward-aggregates.repository';

/** The supporters whose share the summary reports. */
const TOP_SUPPORTERS_OF_SUMMARY = 10;

function boundsOf(window: RewardWindow): TimeBounds {
  return { from: window.from === null ? null : new Date(window.from), to: window.to === null ? null : new Date(window.to) };
}

function checkedLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > REWARD_AGGREGATES_MAX_ROWS)
    throw AppError.validation([{ field: 'limit', message: `must be an integer from 1 to ${REWARD_AGGREGATES_MAX_ROWS}` }]);
  return limit;
}

/** The ranked rows with their viewers' names; an anonymous viewer keeps its place, without its id or name. */
async function withNames(db: Db, rows: readonly SupporterRow[]): Promise<SupporterTotalsDto[]> {
  const viewers = new Map(
    (
      await viewerNames(
        db,
        rows.map((row) => row.audience_id),
      )
    ).map((viewer) => [viewer.id, viewer]),
  );
  return rows.map((row) => {
    const viewer = viewers.get(row.audience_id);
    const named = viewer !== undefined && !Number(viewer.anonymous);
    return {
      audienceId: named ? row.audience_id : null,
      nickname: named ? viewer.nickname : null,
      amountFen: Number(row.total_amount ?? 0),
      rewardCount: Number(row.reward_count ?? 0),
    };
  });
}

/** The aggregates of the reward table the anchor module's insights read (published through the audience contract). */
export function createRewardAggregates(deps: { db: Db }): RewardAggregateQueries {
  const { db } = deps;
  return {
    async anchorRewardStats(anchorId) {
      const row = await anchorStats(db, anchorId);
      return { anchorId, amountFen: Number(row.s ?? 0), rewardCount: Number(row.n ?? 0), supporterCount: Number(row.supporters ?? 0) };
    },

    async topSupportersOfAnchor(anchorId, window, limit) {
      return withNames(db, await topSupporters(db, { of: { anchorId }, bounds: boundsOf(window), limit: checkedLimit(limit) }));
    },

    async topSupportersOfRoom(liveRoomId, window, limit) {
      return withNames(db, await topSupporters(db, { of: { liveRoomId }, bounds: boundsOf(window), limit: checkedLimit(limit) }));
    },

    async anchorsByEarnings(window, page) {
      const rows = await anchorsByEarnings(db, { bounds: boundsOf(window), offset: page.offset, limit: checkedLimit(page.limit) });
      return rows.map((row) => ({
        anchorId: row.anchor_id,
        amountFen: Number(row.total_amount ?? 0),
        rewardCount: Number(row.reward_count ?? 0),
      }));
    },

    async supporterSummary(anchorId, window) {
      const bounds = boundsOf(window);
      const split = await supporterSplit(db, anchorId, bounds);
      const top = await topSupportersAmount(db, anchorId, bounds, TOP_SUPPORTERS_OF_SUMMARY);
      return {
        supporterCount: Number(split.supporters ?? 0),
        newSupporterCount: Number(split.newcomers ?? 0),
        amountFen: Number(split.s ?? 0),
        newSupporterAmountFen: Number(split.newcomers_s ?? 0),
        top10AmountFen: Number(top ?? 0),
      };
    },
  };
}
