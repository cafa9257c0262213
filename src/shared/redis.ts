import { Redis } from 'ioredis';
import type { Logger } from './logger';

/**
 * Redis, configured to fail fast: no offline queue, a short command timeout and bounded retries,
 * so a dead or frozen Redis never holds a request. Callers check `isUsable()` and fall back.
 */
export interface RedisHandle {
  /** null when no REDIS_URL is configured. */
  readonly client: Redis | null;
  isUsable(): boolean;
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface RedisOptions {
  url: string | null;
  keyPrefix: string;
  commandTimeoutMs: number;
  logger: Logger;
}

const NO_REDIS: RedisHandle = {
  client: null,
  isUsable: () => false,
  ping: () => Promise.resolve(false),
  close: () => Promise.resolve(),
};

export function createRedis(options: RedisOptions): RedisHandle {
  if (!options.url) return NO_REDIS;
  const log = options.logger.child({ component: 'redis' });
  const client = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableReadyCheck: true,
    // Commands issued in the same tick share one round trip: many concurrent rewards, few packets.
    enableAutoPipelining: true,
    // Keep reconnecting in the background (capped backoff) so the service switches back by itself.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let lastErrorLog = 0;
  client.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastErrorLog > 10_000) {
      lastErrorLog = now;
      log.warn({ err: error.message }, 'redis unavailable; running degraded');
    }
  });
  client.on('ready', () => log.info('redis ready'));
  let closed = false;
  return {
    client,
    isUsable: () => !closed && client.status === 'ready',
    async ping(timeoutMs = options.commandTimeoutMs) {
      if (closed || client.status !== 'ready') return false;
      let timer: NodeJS.Timeout | undefined;
      try {
        const reply = await Promise.race([
          client.ping(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs);
          }),
        ]);
        return reply === 'PONG';
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/** Waits briefly for the first connection; the service starts degraded rather than not at all. */
export async function waitForRedis(handle: RedisHandle, timeoutMs: number): Promise<boolean> {
  const client = handle.client;
  if (!client) return false;
  if (client.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('ready', onReady);
  });
}
