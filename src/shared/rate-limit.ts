import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from './logger';
import { defineLuaCommand, readLuaScript, type LuaCommand } from './lua-script';
import type { RedisHandle } from './redis';

export type Allowance = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** A fixed-window limit of units per key and minute. */
export interface RateLimit {
  /**
   * One unit per entry of `keys` (a key named n times uses n units): for each entry, in order,
   * whether it may go ahead. When a key has fewer units left than asked, its first entries get
   * them and the rest are refused — and the refused units are given back, so a client hammering a
   * limit does not push its own window further out.
   */
  take(keys: readonly string[]): Promise<Allowance[]>;
  /**
   * The refusal of a key whose window this instance has already seen full, until that window ends;
   * null when it would have to ask. Exact: refused units are given back, so a full window stays full
   * until it ends, whatever other instances count meanwhile. No call, so a flood over the limit costs
   * nothing but its parsing.
   */
  refusedAtOnce(key: string): { retryAfterSeconds: number } | null;
}

const WINDOW_MS = 60_000;

/** What a key got: its first `granted` units of those asked, and how long its window still runs. */
interface Grant {
  granted: number;
  windowLeftMs: number;
}

/** One event-loop turn's asks: units per key, in the order they were asked. */
interface Turn {
  units: Map<string, number>;
  grants: Promise<Map<string, Grant>>;
}

const retryAfter = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Counts in Redis while Redis answers (the limit holds across instances) and in this process's
 * memory when it does not (rate-limiter-flexible's memory limiter), so a Redis outage neither blocks
 * rewards nor lifts the limit. Every key asked during one event-loop turn, by however many requests,
 * is counted by one script call (lua/rate-limit-take.lua): a reward costs no Redis round trip of its
 * own, and a batch of 50 rewards one call, not 50. Null when the limit is off.
 */
export function createRateLimit(options: { name: string; perMinute: number; redis: RedisHandle; logger: Logger }): RateLimit | null {
  const { perMinute, redis } = options;
  if (perMinute <= 0) return null;
  const log = options.logger.child({ component: 'rate-limit', limit: options.name });
  const prefix = `rl:${options.name}:`;
  const memory = new RateLimiterMemory({ keyPrefix: `rl:${options.name}`, points: perMinute, duration: WINDOW_MS / 1000 });
  // A varying number of keys: defined without numberOfKeys, the count goes first (as with EVALSHA).
  const script: LuaCommand | null = redis.client
    ? defineLuaCommand(redis.client, 'rateLimitTake', null, readLuaScript(join(__dirname, 'lua'), 'rate-limit-take.lua'))
    : null;

  async function inMemory(key: string, units: number): Promise<Grant> {
    try {
      await memory.consume(key, units);
      return { granted: units, windowLeftMs: 0 };
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) {
        // A limit must never take rewards down with it.
        log.warn({ err: refusal }, 'rate limit unavailable; letting the request through');
        return { granted: units, windowLeftMs: 0 };
      }
      const granted = Math.min(units, Math.max(0, perMinute - (refusal.consumedPoints - units)));
      await memory.reward(key, units - granted).catch(() => undefined);
      return { granted, windowLeftMs: refusal.msBeforeNext };
    }
  }

  async function turnInRedis(run: LuaCommand, units: Map<string, number>): Promise<Map<string, Grant>> {
    const keys = [...units.keys()];
    try {
      const reply = (await run(keys.length, ...keys.map((k) => prefix + k), WINDOW_MS, perMinute, ...units.values())) as Array<
        [number, number]
      >;
      return new Map(keys.map((key, i) => [key, { granted: Number(reply[i]?.[0] ?? 0), windowLeftMs: Number(reply[i]?.[1] ?? 0) }]));
    } catch (error) {
      // Redis failed the call: this turn counts in memory, as while Redis is known to be down.
      log.warn({ err: error, degraded: true }, 'rate limit could not count in redis; counting in memory');
      return new Map(await Promise.all(keys.map(async (key) => [key, await inMemory(key, units.get(key) ?? 0)] as const)));
    }
  }

  let turn: Turn | null = null;
  /** Keys seen refused: when their full window ends (this process's clock, counted from before the ask, so never late). */
  const fullUntil = new LRUCache<string, number>({ max: 100_000 });

  /** Adds the asks to this turn's call (started on the next setImmediate); the offset of each key's first unit among the turn's. */
  function joinTurn(run: LuaCommand, wanted: Map<string, number>): { grants: Promise<Map<string, Grant>>; offsets: Map<string, number> } {
    if (!turn) {
      const units = new Map<string, number>();
      const grants = new Promise<Map<string, Grant>>((resolve) =>
        setImmediate(() => {
          turn = null;
          resolve(turnInRedis(run, units));
        }),
      );
      turn = { units, grants };
    }
    const offsets = new Map<string, number>();
    for (const [key, n] of wanted) {
      const before = turn.units.get(key) ?? 0;
      offsets.set(key, before);
      turn.units.set(key, before + n);
    }
    return { grants: turn.grants, offsets };
  }

  return {
    refusedAtOnce(key) {
      const until = fullUntil.get(key);
      if (until === undefined) return null;
      const leftMs = until - Date.now();
      if (leftMs > 0) return { retryAfterSeconds: retryAfter(leftMs) };
      fullUntil.delete(key);
      return null;
    },

    async take(keys) {
      const askedAtMs = Date.now();
      const wanted = new Map<string, number>();
      for (const key of keys) wanted.set(key, (wanted.get(key) ?? 0) + 1);
      let grants: Map<string, Grant>;
      let offsets = new Map<string, number>();
      // While Redis is known not to answer, straight to memory: waiting for the command timeout would hold every reward.
      if (script && redis.isUsable()) {
        const joined = joinTurn(script, wanted);
        offsets = joined.offsets;
        grants = await joined.grants;
      } else {
        grants = new Map(await Promise.all([...wanted].map(async ([key, n]) => [key, await inMemory(key, n)] as const)));
      }
      // A unit of ours refused: the key's window is full until it ends.
      for (const [key, n] of wanted) {
        const grant = grants.get(key);
        if (grant && grant.granted < (offsets.get(key) ?? 0) + n && grant.windowLeftMs > 0)
          fullUntil.set(key, askedAtMs + grant.windowLeftMs);
      }
      const used = new Map<string, number>();
      return keys.map((key): Allowance => {
        const grant = grants.get(key) ?? { granted: 0, windowLeftMs: WINDOW_MS };
        const n = (offsets.get(key) ?? 0) + (used.get(key) ?? 0);
        used.set(key, (used.get(key) ?? 0) + 1);
        return n < grant.granted ? { allowed: true } : { allowed: false, retryAfterSeconds: retryAfter(grant.windowLeftMs) };
      });
    },
  };
}
