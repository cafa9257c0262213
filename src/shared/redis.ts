import { Redis } from 'ioredis';
import type { Logger } from './logger';

/**
 * Redis, configured to fail fast: no offline queue, a short command timeout and bounded retries,
 * so a dead or frozen Redis never holds a request. Callers check `isUsable()` and fall back. A
 * command that timed out makes Redis unusable until it answers a PING (sent every
 * `PROBE_INTERVAL_MS`): a frozen Redis keeps its connection open and answers nothing, and every
 * caller would otherwise wait out the timeout again. The PING is answered after every command sent
 * before it, so by then the commands that timed out have run, or never will.
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

const PROBE_INTERVAL_MS = 100;

/** ioredis's client, telling `onCommandTimeout` of each command that timed out (every command, pipelined ones too, passes sendCommand). */
class TimeoutReportingRedis extends Redis {
  onCommandTimeout: (() => void) | undefined;

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const [command] = args;
    const sent = super.sendCommand(...args);
    command.promise.catch((error: unknown) => {
      if (error instanceof Error && error.message === 'Command timed out') this.onCommandTimeout?.();
    });
    return sent;
  }
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
  const client = new TimeoutReportingRedis(options.url, {
    keyPrefix: options.keyPrefix,
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableReadyCheck: true,
    // No auto-pipelining: it sends a tick's commands only once the pipeline ahead of them is answered,
    // so when Redis freezes a command waits for the timeout of the one before it, then for its own.
    // The realtime applies of a room and turn already go as one script call (realtime-apply-batch.ts).
    enableAutoPipelining: false,
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
  let closed = false;
  /** A command timed out and no PING has been answered since. */
  let unanswered = false;
  client.on('ready', () => {
    unanswered = false;
    log.info('redis ready');
  });

  async function probeUntilAnswered(): Promise<void> {
    while (unanswered && !closed) {
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS).unref());
      if (closed || client.status !== 'ready') continue;
      if ((await client.ping().catch(() => null)) === 'PONG' && unanswered) {
        unanswered = false;
        log.info('redis answers again');
      }
    }
  }

  client.onCommandTimeout = () => {
    if (unanswered || closed) return;
    unanswered = true;
    log.warn({ timeoutMs: options.commandTimeoutMs }, 'redis command timed out; running without redis until it answers a PING');
    void probeUntilAnswered();
  };

  return {
    client,
    isUsable: () => !closed && client.status === 'ready' && !unanswered,
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
