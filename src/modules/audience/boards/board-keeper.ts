import type { Db } from '../../../shared/db/knex';
import { fromDbTime } from '../../../shared/db/time';
import type { Clock } from '../../../shared/module';
import type { Period } from '../../../shared/time-zone';
import type { BoardRecorder } from './board-recorder';
import { boardRewards, viewerTotals, type BoardRewardRow, type BoardScope } from './boards.repository';
import type { BoardKeys, BoardLeader, BoardStore, CountedReward } from './boards.redis';

/** One board: a scope's rewards over one period `[from, to)` (both null for all time). */
export interface Board {
  scope: BoardScope;
  period: Period;
  from: Date | null;
  to: Date | null;
  keys: BoardKeys;
}

/** Viewers fetched beyond the leaders when they tie with the last one (ties past this go by audience id). */
export const TIE_CAP = 200;
/** Rewards per catch-up query, and queries per load: a board far behind catches up over several loads. */
const SETTLE_PAGE = 2000;
const SETTLE_PAGES_PER_LOAD = 5;
/** A period's board lives this long beyond its period (a late read, rewards of its last seconds). */
const PERIOD_SLACK_MS = 60 * 60_000;
/** A room's all-time board unread this long expires (each catch-up renews it); the next read rebuilds it. */
const ALL_TIME_IDLE_MS = 24 * 60 * 60_000;

function toCounted(row: BoardRewardRow): CountedReward {
  return {
    rechargeId: row.id,
    audienceId: row.audience_id,
    amountFen: Number(row.amount),
    createdAtMs: fromDbTime(row.created_at).getTime(),
  };
}

/**
 * Keeps a board in Redis equal to DB1: board = base (every reward created before the cut, one
 * GROUP BY at rebuild) + the rewards created since, each counted once (count-reward.lua). The
 * reward path counts them as they commit (board-recorder.ts); a load catches up from DB1 — every
 * reward since the cut, over the scope's index — and moves the cut to `settleDelayMs` ago.
 *
 * Why that is exact: a reward is created (its created_at) before it commits, and commits within
 * `settleDelayMs` of it or never, so when the cut moves past a time every reward created before it
 * is in DB1 and was in the catch-up's pages (or the rebuild's GROUP BY); ids are not the order of
 * commit (group commit), times with that delay are. A reward delivered twice — the recorder and a
 * catch-up, a pipeline that timed out and ran late — counts once: at or after the cut its id is
 * kept, before the cut it is in the base. A board Redis lost (restart, expiry) is rebuilt.
 */
export function createBoardKeeper(deps: { db: Db; clock: Clock; store: BoardStore; recorder: BoardRecorder; settleDelayMs: number }) {
  const { db, clock, store } = deps;

  function clampToPeriod(board: Board, ms: number): number {
    let clamped = ms;
    if (board.from) clamped = Math.max(clamped, board.from.getTime());
    if (board.to) clamped = Math.min(clamped, board.to.getTime());
    return clamped;
  }

  function ttlMs(board: Board, nowMs: number): number {
    return board.to ? Math.max(board.to.getTime() - nowMs, 0) + PERIOD_SLACK_MS : ALL_TIME_IDLE_MS;
  }

  /**
   * Counts the rewards since the cut and moves it to `settleDelayMs` ago. `toPresent`: count the
   * rewards up to now too (after a rebuild, or while rewards of this instance missed Redis).
   * Returns whether the board changed.
   */
  async function settle(board: Board, readCut: string, toPresent: boolean): Promise<boolean> {
    const nowMs = clock().getTime();
    const target = clampToPeriod(board, nowMs - deps.settleDelayMs);
    const present = toPresent || deps.recorder.lastMissMs() >= nowMs - deps.settleDelayMs;
    if (!present && target <= Number(readCut)) return false;
    let cut = readCut;
    let queryFrom = Number(readCut);
    for (let page = 0; page < SETTLE_PAGES_PER_LOAD; page += 1) {
      const before = present ? board.to : new Date(target);
      const rewards = (await boardRewards(db, board.scope, { from: new Date(queryFrom), before }, SETTLE_PAGE)).map(toCounted);
      const full = rewards.length === SETTLE_PAGE;
      const lastAt = rewards[rewards.length - 1]?.createdAtMs ?? queryFrom;
      // A full page: every reward created before its last one's time is in it, the rest come next.
      const newCut = Math.max(Number(cut), Math.min(target, full ? lastAt : target));
      if (!(await store.settle(board.keys, cut, newCut, ttlMs(board, nowMs), rewards))) return true;
      cut = String(newCut);
      if (!full || lastAt === queryFrom) break;
      queryFrom = lastAt;
    }
    return true;
  }

  /** false when the board has no reward at all: nothing is kept in Redis for it (a room id anyone may ask for). */
  async function rebuild(board: Board): Promise<boolean> {
    // A refund committed after the base below was read drops the board after it is written: its count tells.
    const refundsBefore = await store.refundCount(board.keys);
    const nowMs = clock().getTime();
    const cutMs = clampToPeriod(board, nowMs - deps.settleDelayMs);
    const base = await viewerTotals(db, board.scope, { from: board.from, before: new Date(cutMs) });
    if (base.length === 0 && (await boardRewards(db, board.scope, { from: new Date(cutMs), before: board.to }, 1)).length === 0)
      return false;
    const totals = base.map((row) => ({
      audienceId: row.audience_id,
      totalFen: Number(row.total_amount),
      rewardCount: Number(row.reward_count),
      firstAtMs: fromDbTime(row.first_at).getTime(),
    }));
    await store.writeBase(board.keys, totals, cutMs, ttlMs(board, nowMs));
    // Rewards the recorder sent while the board was missing were dropped; they are all in DB1 by now.
    await settle(board, String(cutMs), true);
    if ((await store.refundCount(board.keys)) !== refundsBefore) await store.drop(board.keys);
    return true;
  }

  return {
    /** Drops the board from Redis: the next `leaders` rebuilds it from DB1. */
    drop: (board: Board): Promise<void> => store.drop(board.keys),
    /** The board's leaders (ties at the last place included), caught up with DB1; rebuilt when Redis lost it. */
    async leaders(board: Board, n: number): Promise<BoardLeader[]> {
      let view = await store.read(board.keys, n, TIE_CAP);
      if (view && (await settle(board, view.cut, false))) view = await store.read(board.keys, n, TIE_CAP);
      // Missing, or dropped by a refund between the read and the catch-up, or right after a rebuild: rebuilt (twice at most).
      for (let attempt = 0; !view && attempt < 2; attempt += 1) {
        if (!(await rebuild(board))) return [];
        view = await store.read(board.keys, n, TIE_CAP);
      }
      if (!view) throw new Error(`board ${board.keys.totals} vanished right after its rebuild`);
      return view.leaders;
    },
  };
}

export type BoardKeeper = ReturnType<typeof createBoardKeeper>;
