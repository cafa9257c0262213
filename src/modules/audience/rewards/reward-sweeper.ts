import { join } from 'node:path';
import { chunks } from '../../../shared/chunks';
import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import { defineLuaCommand, readLuaScript } from '../../../shared/lua-script';
import type { Clock } from '../../../shared/module';
import type { RedisHandle } from '../../../shared/redis';
import type { AnchorServiceClient } from '../../anchor/contract';
import { maxRechargeId } from './reward-ledger.repository';
import { rewardsAfter } from './rewards.repository';

const PAGE = 500;
/** Applies in flight at once within a page. */
const APPLIES_AT_ONCE = 20;
/** One run stops after this long and leaves the rest to the next (they come every couple of seconds). */
const RUN_BUDGET_MS = 5000;
/** The last reward id the sweep has seen counted or applied, shared by every instance. */
const CURSOR_KEY = 'reward-sweep:cursor';

/** An answer of the module (4xx), not a failure to answer. */
function isAnswer(error: unknown): boolean {
  return error instanceof AppError && error.status < 500;
}

export interface SweepReport {
  examined: number;
  applied: number;
}

/**
 * The reward table is the outbox of the realtime figures: a reward committed but not counted in its
 * room `delayMs` later — its instance died before notifying, the anchor module timed out, the
 * client's retry was answered as a replay, or Redis lost the pending deltas — is applied by this
 * sweep (idempotent per rechargeId, like every apply). It walks the rewards in id order from a
 * cursor kept in Redis; a Redis that restarted empty has lost the cursor along with the pending
 * deltas, and the sweep then looks back `rebuildWindowMs` and applies again what Redis lost.
 * Without Redis the cursor lives in this process.
 */
export function createRewardSweeper(deps: {
  db: Db;
  redis: RedisHandle;
  anchor: Pick<AnchorServiceClient, 'countedRewards' | 'applyReward'>;
  clock: Clock;
  logger: Logger;
  delayMs: number;
  rebuildWindowMs: number;
  onApplied: (count: number) => void;
}) {
  const { db, redis, anchor, clock, logger } = deps;
  let localCursor: number | null = null;
  const client = redis.client;
  /** The cursor only moves forward, whichever instance writes last (lua/raise-sweep-cursor.lua). */
  const raiseCursor = client
    ? defineLuaCommand(client, 'rewardSweepRaiseCursor', 1, readLuaScript(join(__dirname, 'lua'), 'raise-sweep-cursor.lua'))
    : null;

  async function readCursor(): Promise<number> {
    if (client) {
      if (!redis.isUsable()) throw AppError.unavailable('Redis does not answer: the sweep waits for it.');
      const stored = await client.get(CURSOR_KEY);
      if (stored !== null) return Number(stored);
    } else if (localCursor !== null) {
      return localCursor;
    }
    const from = await maxRechargeId(db, new Date(clock().getTime() - deps.rebuildWindowMs));
    logger.info({ from }, 'reward sweep starts (or restarts after Redis lost its memory) from the rebuild window');
    return from;
  }

  async function writeCursor(id: number): Promise<void> {
    if (raiseCursor) await raiseCursor(CURSOR_KEY, id);
    else localCursor = Math.max(localCursor ?? 0, id);
  }

  /**
   * Applies the rewards of a page their rooms have not counted. Every apply is tried (each is
   * idempotent); gives how many were applied and the id the cursor may move to: the page's last, or
   * the one before the first reward whose apply failed, with that failure.
   */
  async function applyUncounted(page: Awaited<ReturnType<typeof rewardsAfter>>): Promise<{ applied: number; upTo: number; error?: Error }> {
    const counted = new Set(await anchor.countedRewards(page.map((r) => ({ rechargeId: r.id, liveRoomId: r.live_room_id }))));
    const missing = page.filter((r) => !counted.has(r.id));
    // A few at a time: a backlog of many rooms must not pile hundreds of applies on the anchor
    // module (and its pool) at once, each racing its timeout. Rewards of one room in a group still
    // go to Redis in one script call.
    const outcomes: Array<PromiseSettledResult<unknown>> = [];
    for (const group of chunks(missing, APPLIES_AT_ONCE)) {
      outcomes.push(
        ...(await Promise.allSettled(
          group.map((r) =>
            anchor.applyReward({
              rechargeId: r.id,
              traceId: r.trace_id,
              liveRoomId: r.live_room_id,
              audienceId: r.audience_id,
              amountFen: r.amount,
            }),
          ),
        )),
      );
    }
    const applied = outcomes.filter((o) => o.status === 'fulfilled').length;
    // A 4xx is the module's answer (no such room any more): that reward can never be applied, and must not hold up the rest.
    outcomes.forEach((o, i) => {
      if (o.status === 'rejected' && isAnswer(o.reason))
        logger.warn({ err: o.reason, rechargeId: missing[i]?.id }, 'reward sweep: the anchor module refused the reward; skipped');
    });
    const firstFailed = outcomes.findIndex((o) => o.status === 'rejected' && !isAnswer(o.reason));
    const failure = outcomes[firstFailed];
    if (firstFailed < 0 || failure?.status !== 'rejected') return { applied, upTo: page[page.length - 1]?.id ?? 0 };
    const failedId = missing[firstFailed]?.id ?? 0;
    const before = page.filter((r) => r.id < failedId);
    return {
      applied,
      upTo: before[before.length - 1]?.id ?? 0,
      error: failure.reason instanceof Error ? failure.reason : new Error('a reward apply failed', { cause: failure.reason }),
    };
  }

  return {
    async sweep(): Promise<SweepReport> {
      const started = performance.now();
      const report: SweepReport = { examined: 0, applied: 0 };
      let cursor = await readCursor();
      while (performance.now() - started < RUN_BUDGET_MS) {
        const page = await rewardsAfter(db, { afterId: cursor, createdBefore: new Date(clock().getTime() - deps.delayMs), limit: PAGE });
        if (page.length === 0) break;
        const { applied, upTo, error } = await applyUncounted(page);
        report.examined += page.length;
        report.applied += applied;
        if (applied > 0) {
          deps.onApplied(applied);
          // Said per page, as soon as it is done: a run working through a backlog may go on for seconds.
          logger.warn({ examined: page.length, applied, upToId: upTo }, 'reward sweep applied rewards their notification had missed');
        }
        if (upTo > cursor) {
          cursor = upTo;
          await writeCursor(cursor);
        }
        // The rest of the page waits for the next run; what was applied stays applied (and counted).
        if (error !== undefined) throw error;
        if (page.length < PAGE) break;
      }
      return report;
    },
  };
}

export type RewardSweeper = ReturnType<typeof createRewardSweeper>;
