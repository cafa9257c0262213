import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import { formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import { localDateOf } from '../../../shared/time-zone';
import type { AudienceServiceClient, RewardRecordDto, RewardRecordPageDto, RewardRecordPageQuery } from '../../audience/contract';
import { findAnchor } from '../anchors/anchors.repository';
import { anchorNotFound } from '../anchors/anchors.service';
import { findLiveRoom } from '../live-rooms/live-rooms.repository';
import { addDays, daysBetween, localDays } from './reward-days';
import { DEFAULT_SUMMARY_DAYS, MAX_SUMMARY_DAYS } from './reward-records.schemas';

/** What the records need of the audience module (which owns the reward table). */
export type RewardRecordQueries = Pick<AudienceServiceClient, 'rewardRecords' | 'rewardTotalsByBucket' | 'exportRewardRecords'>;

type PageQuery = Omit<RewardRecordPageQuery, 'owner'>;
type Range = { from?: string | undefined; to?: string | undefined };

export interface DailySummary {
  items: Array<{ day: string; totalAmount: string; rewardCount: number; supporterCount: number }>;
  from: string;
  to: string;
  timeZone: string;
}

export interface RewardRecordsServiceDeps {
  db: Db;
  rewards: RewardRecordQueries;
  clock: Clock;
  timeZone: string;
}

/** An anchor's and a room's reward records: who may see them is decided here, the rows come from the audience module. */
export function createRewardRecordsService(deps: RewardRecordsServiceDeps) {
  const { db, rewards, clock, timeZone } = deps;

  async function requireOwnAnchor(principal: Principal | null, anchorId: number): Promise<void> {
    assertMayActFor(principal, { anchorId });
    if (!(await findAnchor(db, anchorId))) throw anchorNotFound(anchorId);
  }

  /** The days asked for, defaulted (the last DEFAULT_SUMMARY_DAYS days, today included) and bounded. */
  function summaryDays(range: Range): { from: string; to: string } {
    const to = range.to ?? (range.from ? addDays(range.from, DEFAULT_SUMMARY_DAYS) : addDays(localDateOf(clock(), timeZone), 1));
    const from = range.from ?? addDays(to, -DEFAULT_SUMMARY_DAYS);
    if (daysBetween(from, to) > MAX_SUMMARY_DAYS)
      throw AppError.validation([{ field: 'to', message: `must be at most ${MAX_SUMMARY_DAYS} days after from` }]);
    return { from, to };
  }

  return {
    async anchorRewards(principal: Principal | null, anchorId: number, query: PageQuery): Promise<RewardRecordPageDto> {
      await requireOwnAnchor(principal, anchorId);
      return rewards.rewardRecords({ ...query, owner: { anchorId } });
    },

    async roomRewards(principal: Principal | null, liveRoomId: number, query: PageQuery): Promise<RewardRecordPageDto> {
      const room = await findLiveRoom(db, liveRoomId);
      if (!room) throw AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${liveRoomId}.`);
      assertMayActFor(principal, { anchorId: room.anchor_id });
      return rewards.rewardRecords({ ...query, owner: { liveRoomId } });
    },

    /** Per day in the configured zone, every day present; the days are drawn here, the sums made in one statement. */
    async dailySummary(principal: Principal | null, anchorId: number, range: Range): Promise<DailySummary> {
      await requireOwnAnchor(principal, anchorId);
      const { from, to } = summaryDays(range);
      const { days, boundaries } = localDays(from, to, timeZone);
      const totals = await rewards.rewardTotalsByBucket(
        { anchorId },
        boundaries.map((b) => b.toISOString()),
      );
      const byDay = new Map(totals.map((t) => [t.bucket, t]));
      const items = days.map((day, index) => {
        const t = byDay.get(index);
        return { day, totalAmount: formatFen(t?.amountFen ?? 0), rewardCount: t?.rewardCount ?? 0, supporterCount: t?.supporterCount ?? 0 };
      });
      return { items, from, to, timeZone };
    },

    /** The export, started: a failure to begin throws here, before anything is sent. */
    async exportAnchorRewards(principal: Principal | null, anchorId: number, range: Range): Promise<AsyncIterable<RewardRecordDto[]>> {
      await requireOwnAnchor(principal, anchorId);
      return rewards.exportRewardRecords({ owner: { anchorId }, from: range.from, to: range.to });
    },
  };
}

export type RewardRecordsService = ReturnType<typeof createRewardRecordsService>;
