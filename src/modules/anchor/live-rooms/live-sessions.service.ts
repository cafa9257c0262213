import type { Db } from '../../../shared/db/knex';
import { isoFromDb, isoFromDbOrNull } from '../../../shared/db/time';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import type { AudienceServiceClient, RewardTotals } from '../../audience/contract';
import { findLiveRoom, type LiveRoomRow } from './live-rooms.repository';
import { liveRoomNotFound } from './live-rooms.service';
import {
  findSession,
  listSessions,
  sessionsOverlapping,
  settleSessionTotals,
  unsettledSessions,
  type LiveSessionRow,
} from './live-sessions.repository';

export interface LiveSessionView {
  sessionId: number;
  startedAt: string;
  endedAt: string | null;
  totalEarningsFen: number;
  rechargeCount: number;
}

/** Sessions the settle job finalises per run (it runs again on the next tick for the rest). */
const SETTLE_BATCH = 500;
/** Session ids per call to the audience module. */
const TOTALS_CHUNK = 100;

/**
 * A live session's totals come from the reward rows (`recharge.live_session_id`, the audience
 * module's). They are stored, final, by the `live-session-totals` job once the session ended more
 * than `settleMs` ago: a reward whose room check saw the session LIVE just before the stop may
 * commit just after it, and settleMs (default 60 s) is far beyond how long a reward may wait between
 * its room check and its commit. Until then — the running session, one that ended moments ago, or
 * one the job has not reached — a read counts the reward rows itself, so every read is exact and the
 * stored figures converge on the rows, a straggler included.
 */
export function createLiveSessionsService(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  sessionRewards: Pick<AudienceServiceClient, 'sessionRewardTotals'>;
  settleMs: number;
}) {
  const { db, clock } = deps;

  async function ownedRoom(principal: Principal | null, liveRoomId: number): Promise<LiveRoomRow> {
    const room = await findLiveRoom(db, liveRoomId);
    if (!room) throw liveRoomNotFound(liveRoomId);
    assertMayActFor(principal, { anchorId: room.anchor_id });
    return room;
  }

  async function countedFromRewards(sessionIds: readonly number[]): Promise<Map<number, RewardTotals>> {
    const totals = new Map<number, RewardTotals>();
    for (let i = 0; i < sessionIds.length; i += TOTALS_CHUNK) {
      for (const t of await deps.sessionRewards.sessionRewardTotals(sessionIds.slice(i, i + TOTALS_CHUNK))) totals.set(t.liveSessionId, t);
    }
    return totals;
  }

  /** Stored totals where final, the reward rows' count for the rest (one call for the page). */
  async function views(rows: readonly LiveSessionRow[]): Promise<LiveSessionView[]> {
    const counted = await countedFromRewards(rows.filter((row) => row.totals_settled_at === null).map((row) => row.id));
    return rows.map((row) => {
      const live = counted.get(row.id);
      return {
        sessionId: row.id,
        startedAt: isoFromDb(row.started_at),
        endedAt: isoFromDbOrNull(row.ended_at),
        totalEarningsFen: live ? live.amountFen : Number(row.total_earnings ?? 0),
        rechargeCount: live ? live.count : Number(row.recharge_count ?? 0),
      };
    });
  }

  return {
    /** The room's sessions, newest first (owner or admin). */
    async listSessions(principal: Principal | null, liveRoomId: number, query: { page: number; pageSize: number }) {
      await ownedRoom(principal, liveRoomId);
      const { rows, total } = await listSessions(db, liveRoomId, { offset: (query.page - 1) * query.pageSize, limit: query.pageSize });
      return { items: await views(rows), page: query.page, pageSize: query.pageSize, total };
    },

    /** The session running now with its totals so far, or null when the room is not LIVE (owner or admin). */
    async currentSession(principal: Principal | null, liveRoomId: number): Promise<LiveSessionView | null> {
      const room = await ownedRoom(principal, liveRoomId);
      if (room.current_session_id === null) return null;
      const row = await findSession(db, room.current_session_id);
      return row ? ((await views([row]))[0] ?? null) : null;
    },

    /** The room's sessions overlapping `[from, to)` with their whole totals, newest first (for the analytics room report). */
    async sessionsOverlapping(liveRoomId: number, range: { from: Date; to: Date }, limit: number): Promise<LiveSessionView[] | null> {
      if (!(await findLiveRoom(db, liveRoomId))) return null;
      return views(await sessionsOverlapping(db, liveRoomId, range, limit));
    },

    /** The job: stores the final totals of sessions that ended more than settleMs ago. */
    async settleEndedSessions(): Promise<{ settled: number }> {
      const now = clock();
      const ids = await unsettledSessions(db, new Date(now.getTime() - deps.settleMs), SETTLE_BATCH);
      const counted = await countedFromRewards(ids);
      for (const id of ids) {
        const totals = counted.get(id) ?? { count: 0, amountFen: 0 };
        await settleSessionTotals(db, { id, totalEarningsFen: totals.amountFen, rechargeCount: totals.count, now });
      }
      if (ids.length > 0) deps.logger.info({ settled: ids.length }, 'live session totals settled');
      return { settled: ids.length };
    },
  };
}

export type LiveSessionsService = ReturnType<typeof createLiveSessionsService>;
