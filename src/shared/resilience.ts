import CircuitBreaker from 'opossum';
import { AppError } from './http/app-error';
import type { Logger } from './logger';

export type CallOutcome = 'success' | 'failure' | 'timeout' | 'short_circuit';

export interface BreakerOptions {
  name: string;
  timeoutMs: number;
  /** How long the breaker stays open before it lets one trial call through (5 s unless given). */
  resetTimeoutMs?: number;
  logger: Logger;
  /** Errors the caller caused (4xx): they are answers, not failures, and never open the breaker. */
  isClientError?: (error: unknown) => boolean;
  onOutcome?: (outcome: CallOutcome) => void;
}

/**
 * Wraps a cross-module call in an opossum circuit breaker: a short timeout, opens at 50 % failures
 * once at least 10 calls were seen in the rolling window (one failure never opens it), half-opens
 * after 5 s (or `resetTimeoutMs`) to let one trial call through.
 */
export function createBreaker<A extends unknown[], R>(call: (...args: A) => Promise<R>, options: BreakerOptions): CircuitBreaker<A, R> {
  const breaker = new CircuitBreaker<A, R>(call, {
    name: options.name,
    timeout: options.timeoutMs,
    errorThresholdPercentage: 50,
    volumeThreshold: 10,
    resetTimeout: options.resetTimeoutMs ?? 5000,
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
    // Off: every failure reads the window's stats, and with percentiles on that concatenates and sorts
    // the latency of every call in the window (tens of thousands at full load) — per failure, so a
    // burst of failures (a module down, a shutdown) cost seconds of CPU exactly when degraded.
    rollingPercentilesEnabled: false,
    errorFilter: (error: unknown) => options.isClientError?.(error) ?? false,
  });
  const log = options.logger.child({ component: 'breaker', breaker: options.name });
  breaker.on('open', () => log.warn('circuit opened: calls are short-circuited'));
  breaker.on('halfOpen', () => log.info('circuit half-open: trying one call'));
  breaker.on('close', () => log.info('circuit closed: calls flow again'));
  if (options.onOutcome) {
    const report = options.onOutcome;
    breaker.on('success', () => report('success'));
    breaker.on('failure', (error: unknown) => {
      // opossum emits 'failure' for timeouts as well; count those once, as timeouts.
      if (!(error instanceof Error && /Timed out/.test(error.message) && (error as { code?: string }).code === 'ETIMEDOUT'))
        report('failure');
    });
    breaker.on('timeout', () => report('timeout'));
    breaker.on('reject', () => report('short_circuit'));
  }
  return breaker;
}

export interface GuardOptions {
  /** The module called, e.g. `anchor`; each method gets a breaker named `anchor.<method>`. */
  name: string;
  /** Names the breakers instead of `name` (`<breakerPrefix>.<method>`), for a second set of breakers on the same module. */
  breakerPrefix?: string;
  logger: Logger;
  /** Timeout per method; methods not named use `default`. */
  timeoutMs: { default: number } & Record<string, number>;
  /** How long an open breaker waits before its trial call (5 s unless given). */
  resetTimeoutMs?: number;
  onOutcome?: (method: string, outcome: CallOutcome) => void;
}

type Method = (...args: unknown[]) => Promise<unknown>;

function methodNames(client: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = client; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof (client as Record<string, unknown>)[name] === 'function') names.add(name);
    }
  }
  return [...names];
}

function isBreakerRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ETIMEDOUT' || code === 'EOPENBREAKER' || code === 'ESEMLOCKED' || code === 'ESHUTDOWN';
}

/**
 * The contract `client` with every method behind a circuit breaker of its own, with a timeout: a
 * module that hangs or keeps failing costs its callers at most the timeout, then nothing while the
 * breaker is open. A call the breaker refuses or gives up on answers 503 DEPENDENCY_UNAVAILABLE;
 * the module's own answers (4xx AppErrors) pass through unchanged and never open the breaker.
 */
export function guardClient<T extends object>(client: T, options: GuardOptions): T {
  const guarded: Record<string, Method> = {};
  for (const name of methodNames(client)) {
    const method = (client as Record<string, Method>)[name] as Method;
    const breaker = createBreaker((...args: unknown[]) => method.apply(client, args), {
      name: `${options.breakerPrefix ?? options.name}.${name}`,
      timeoutMs: options.timeoutMs[name] ?? options.timeoutMs.default,
      resetTimeoutMs: options.resetTimeoutMs,
      logger: options.logger,
      isClientError: (error) => error instanceof AppError && error.status < 500,
      onOutcome: options.onOutcome ? (outcome) => options.onOutcome?.(name, outcome) : undefined,
    });
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await breaker.fire(...args);
      } catch (error) {
        if (!isBreakerRefusal(error)) throw error;
        throw AppError.unavailable(`The ${options.name} module did not answer; try again shortly.`, error);
      }
    };
  }
  return guarded as T;
}
