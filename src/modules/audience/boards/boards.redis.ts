import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { chunks } from '../../../shared/chunks';
import { defineLuaCommand, readLuaScript } from '../../../shared/lua-script';
import type { Period } from '../../../shared/time-zone';
import type { BoardScope } from './boards.repository';

/**
 * The Redis side of the TOP10 boards: one board per scope, period and period start, two keys of
 * one slot (the room id, or `platform`, is the hash tag):
 *
 *   top10:room:{789}:day:<start ms>          ZSET audienceId -> total (fen)
 *   top10:room:{789}:day:<start ms>:state    HASH cut, c:<audienceId>, f:<audienceId>, r:<rechargeId>
 *   top10:viewers:{platform}:week:<start ms>  (and :state) the platform-wide boards
 *   top10:room:{789}:all:ever                 a room's all-time board
 *   top10:room:{789}:refunds                  the scope's refund count: a rebuild that read DB1 before a
 *                                             refund and wrote after it sees this move and drops its board
 *
 * What each field means and how a reward is counted once: lua/count-reward.lua.
 */
export interface BoardKeys {
  totals: string;
  state: string;
  /** The scope's refund count (one per room, one for the platform). */
  refunds: string;
}

export function boardKeys(scope: BoardScope, period: Period, from: Date | null): BoardKeys {
  const family = scope.liveRoomId === null ? 'top10:viewers:{platform}' : `top10:room:{${scope.liveRoomId}}`;
  const totals = `${family}:${period}:${from ? from.getTime() : 'ever'}`;
  return { totals, state: `${totals}:state`, refunds: `${family}:refunds` };
}

export interface CountedReward {
  rechargeId: number;
  audienceId: number;
  amountFen: number;
  createdAtMs: number;
}

export interface BoardLeader {
  audienceId: number;
  totalFen: number;
  rewardCount: number;
  firstAtMs: number;
}

/** A built board: its cut (rewards created before it are in the base) and its leaders, ties included. */
export interface BoardView {
  cut: string;
  leaders: BoardLeader[];
}

export interface BaseTotals {
  audienceId: number;
  totalFen: number;
  rewardCount: number;
  firstAtMs: number;
}

export interface BoardStore {
  /**
   * Counts each group's rewards on the group's boards (all of one scope), each reward once, all in
   * one pipeline: one script call per group, or per `REWARDS_PER_CALL` of a larger group.
   */
  apply(groups: ReadonlyArray<{ boards: readonly BoardKeys[]; rewards: readonly CountedReward[] }>): Promise<void>;
  /** null when the board is not built. */
  read(keys: BoardKeys, n: number, tieCap: number): Promise<BoardView | null>;
  /** Replaces the board by `base` (every reward created before `cutMs`), atomically (MULTI). */
  writeBase(keys: BoardKeys, base: readonly BaseTotals[], cutMs: number, ttlMs: number): Promise<void>;
  /** The scope's refund count ('0' before any). */
  refundCount(keys: BoardKeys): Promise<string>;
  /** Drops a board (the next read rebuilds it from DB1). */
  drop(keys: BoardKeys): Promise<void>;
  /** A refund in these boards' scope (all of one scope): counts it, then drops the boards, in one MULTI. */
  dropForRefund(boards: readonly BoardKeys[]): Promise<void>;
  /** Counts `rewards` not yet counted and moves the cut from `readCut` to `newCutMs`; false when the cut had moved. */
  settle(keys: BoardKeys, readCut: string, newCutMs: number, ttlMs: number, rewards: readonly CountedReward[]): Promise<boolean>;
}

const LUA_DIR = join(__dirname, 'lua');
const APPLY_SCRIPT = 'top10ApplyReward';
/** Rewards per apply script call at most: each call stays short (Redis runs nothing else meanwhile). */
export const REWARDS_PER_CALL = 500;
/** Base entries per ZADD / HSET inside a rebuild's MULTI. */
const CHUNK = 1000;

function rewardArgs(r: CountedReward): number[] {
  return [r.rechargeId, r.audienceId, r.amountFen, r.createdAtMs];
}

export function createBoardStore(client: Redis): BoardStore {
  const define = (name: string, numberOfKeys: number, ...files: string[]) =>
    defineLuaCommand(client, name, numberOfKeys, readLuaScript(LUA_DIR, ...files));
  // The apply script takes a varying number of keys: defined with numberOfKeys 0, the count goes first (as with EVALSHA).
  client.defineCommand(APPLY_SCRIPT, { lua: readLuaScript(LUA_DIR, 'count-reward.lua', 'apply.lua') });
  const readScript = define('top10ReadBoard', 2, 'read.lua');
  const settleScript = define('top10SettleBoard', 2, 'count-reward.lua', 'settle.lua');

  return {
    async apply(groups) {
      const pipeline = client.pipeline() as unknown as Record<string, (...args: Array<string | number>) => unknown> & {
        exec(): Promise<Array<[Error | null, unknown]> | null>;
      };
      for (const { boards, rewards } of groups) {
        const keys = boards.flatMap((b) => [b.totals, b.state]);
        for (const part of chunks(rewards, REWARDS_PER_CALL)) pipeline[APPLY_SCRIPT]!(keys.length, ...keys, ...part.flatMap(rewardArgs));
      }
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    },

    async read(keys, n, tieCap) {
      const reply = (await readScript(keys.totals, keys.state, n, tieCap)) as Array<string | null>;
      const cut = reply[0];
      if (cut === null || cut === undefined) return null;
      const leaders: BoardLeader[] = [];
      for (let i = 1; i + 3 < reply.length; i += 4) {
        leaders.push({
          audienceId: Number(reply[i]),
          totalFen: Number(reply[i + 1]),
          rewardCount: Number(reply[i + 2] ?? 0),
          firstAtMs: Number(reply[i + 3] ?? 0),
        });
      }
      return { cut, leaders };
    },

    async writeBase(keys, base, cutMs, ttlMs) {
      const multi = client.multi().del(keys.totals, keys.state);
      for (let i = 0; i < base.length; i += CHUNK) {
        const chunk = base.slice(i, i + CHUNK);
        multi.zadd(keys.totals, ...chunk.flatMap((v) => [v.totalFen, v.audienceId]));
        multi.hset(keys.state, ...chunk.flatMap((v) => [`c:${v.audienceId}`, v.rewardCount, `f:${v.audienceId}`, v.firstAtMs]));
      }
      multi.hset(keys.state, 'cut', cutMs).pexpire(keys.totals, ttlMs).pexpire(keys.state, ttlMs);
      const replies = await multi.exec();
      for (const [error] of replies ?? []) if (error) throw error;
      if (!replies) throw new Error(`the rebuild of ${keys.totals} was discarded`);
    },

    async refundCount(keys) {
      return (await client.get(keys.refunds)) ?? '0';
    },

    async drop(keys) {
      await client.del(keys.totals, keys.state);
    },

    async dropForRefund(boards) {
      const first = boards[0];
      if (!first) return;
      const multi = client.multi().incr(first.refunds);
      for (const keys of boards) multi.del(keys.totals, keys.state);
      const replies = await multi.exec();
      for (const [error] of replies ?? []) if (error) throw error;
      if (!replies) throw new Error(`dropping the boards of ${first.refunds} was discarded`);
    },

    async settle(keys, readCut, newCutMs, ttlMs, rewards) {
      const reply = await settleScript(keys.totals, keys.state, readCut, newCutMs, ttlMs, ...rewards.flatMap(rewardArgs));
      return reply === 1;
    },
  };
}
