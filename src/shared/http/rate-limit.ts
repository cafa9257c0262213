import type { Request, RequestHandler, Response } from 'express';
import { MemoryStore, rateLimit, type ClientRateLimitInfo, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { RedisHandle } from '../redis';
import { AppError } from './app-error';
import { principalOf } from './routes';

/**
 * Counts in Redis while Redis is usable (limits hold across instances) and in this process's
 * memory otherwise, so a Redis outage neither blocks rewards nor lifts the limit.
 */
class FailoverStore implements Store {
  readonly localKeys = false;
  private readonly memory = new MemoryStore();
  private readonly shared: RedisStore | null;
  private options: Options | undefined;
  private lastReload = 0;

  constructor(private readonly redis: RedisHandle) {
    const client = redis.client;
    this.shared = client
      ? new RedisStore({ prefix: 'rl:', sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<RedisReply> })
      : null;
  }

  init(options: Options): void {
    this.options = options;
    this.memory.init(options);
    this.loadScripts();
  }

  /** RedisStore loads its Lua scripts on init; with Redis down that fails, so it is redone later. */
  private loadScripts(): void {
    if (!this.shared || !this.options || Date.now() - this.lastReload < 5000) return;
    this.lastReload = Date.now();
    this.shared.init(this.options).catch(() => undefined);
  }

  private async either<T>(use: (store: Store) => Promise<T> | T): Promise<T> {
    if (this.shared && this.redis.isUsable()) {
      try {
        return await use(this.shared);
      } catch {
        this.loadScripts();
      }
    }
    return use(this.memory);
  }

  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.either((store) => store.get?.(key));
  }

  increment(key: string): Promise<IncrementResponse> {
    return this.either((store) => store.increment(key));
  }

  decrement(key: string): Promise<void> {
    return this.either((store) => store.decrement(key));
  }

  resetKey(key: string): Promise<void> {
    return this.either((store) => store.resetKey(key));
  }
}

/** The viewer a reward request is for: the token's own id for viewers, the body's audienceId for a trusted service. */
function viewerKey(req: Request, res: Response): string {
  const principal = principalOf(res);
  if (principal?.role === 'audience') return `viewer:${principal.id}`;
  try {
    const body = JSON.parse(typeof req.body === 'string' ? req.body : '') as { audienceId?: unknown };
    if (typeof body.audienceId === 'number') return `viewer:${body.audienceId}`;
  } catch {
    // not a single reward: count against the caller
  }
  return `${principal?.role ?? 'anonymous'}:${principal?.id ?? 0}`;
}

/** A per-viewer limit on reward requests; null when the limit is off (0). */
export function rewardRateLimiter(perMinute: number, redis: RedisHandle): RequestHandler | null {
  if (perMinute <= 0) return null;
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: new FailoverStore(redis),
    keyGenerator: viewerKey,
    validate: { keyGeneratorIpFallback: false },
    passOnStoreError: true,
    // Through the central error handler, so the 429 is written and counted like every other problem.
    handler: (_req, _res, next, options) => {
      next(
        new AppError('RATE_LIMITED', 429, `Too many rewards: at most ${String(options.limit)} a minute per viewer.`, {
          headers: { 'Retry-After': String(Math.ceil(options.windowMs / 1000)) },
        }),
      );
    },
  });
}
