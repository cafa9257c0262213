import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from './logger';
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
}

/**
 * Counts in Redis while Redis answers (the limit holds across instances) and in this process's
 * memory when it does not (rate-limiter-flexible's insurance limiter), so a Redis outage neither
 * blocks rewards nor lifts the limit. Null when the limit is off.
 */
export function createRateLimit(options: { name: string; perMinute: number; redis: RedisHandle; logger: Logger }): RateLimit | null {
  const { perMinute, redis } = options;
  if (perMinute <= 0) return null;
  const log = options.logger.child({ component: 'rate-limit', limit: options.name });
  const memory = new RateLimiterMemory({ keyPrefix: `rl:${options.name}`, points: perMinute, duration: 60 });
  const shared: RateLimiterAbstract | null = redis.client
    ? new RateLimiterRedis({
        storeClient: redis.client,
        keyPrefix: `rl:${options.name}`,
        points: perMinute,
        duration: 60,
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      })
    : null;
  // While Redis is known not to answer, straight to memory: the insurance would be reached only after the command timeout.
  const limiterNow = (): RateLimiterAbstract => (shared && redis.isUsable() ? shared : memory);

  /** How many of `units` the key may use now, and when to retry for the rest. */
  async function consume(key: string, units: number): Promise<{ granted: number; retryAfterSeconds: number }> {
    const limiter = limiterNow();
    try {
      await limiter.consume(key, units);
      return { granted: units, retryAfterSeconds: 0 };
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) {
        // Both stores failed: a limit must never take rewards down with it.
        log.warn({ err: refusal }, 'rate limit unavailable; letting the request through');
        return { granted: units, retryAfterSeconds: 0 };
      }
      const usedBefore = refusal.consumedPoints - units;
      const granted = Math.min(units, Math.max(0, perMinute - usedBefore));
      await limiter.reward(key, units - granted).catch(() => undefined);
      return { granted, retryAfterSeconds: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)) };
    }
  }

  return {
    async take(keys) {
      const wanted = new Map<string, number>();
      for (const key of keys) wanted.set(key, (wanted.get(key) ?? 0) + 1);
      const results = new Map(await Promise.all([...wanted].map(async ([key, units]) => [key, await consume(key, units)] as const)));
      const used = new Map<string, number>();
      return keys.map((key): Allowance => {
        const result = results.get(key) ?? { granted: 0, retryAfterSeconds: 60 };
        const n = used.get(key) ?? 0;
        used.set(key, n + 1);
        return n < result.granted ? { allowed: true } : { allowed: false, retryAfterSeconds: result.retryAfterSeconds };
      });
    },
  };
}
