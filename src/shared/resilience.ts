import CircuitBreaker from 'opossum';
import type { Logger } from './logger';

export type CallOutcome = 'success' | 'failure' | 'timeout' | 'short_circuit';

export interface BreakerOptions {
  name: string;
  timeoutMs: number;
  logger: Logger;
  /** Errors the caller caused (4xx): they are answers, not failures, and never open the breaker. */
  isClientError?: (error: unknown) => boolean;
  onOutcome?: (outcome: CallOutcome) => void;
}

/**
 * Wraps a cross-module call in an opossum circuit breaker: a short timeout, opens at 50 % failures
 * once at least 10 calls were seen in the rolling window (one failure never opens it), half-opens
 * after 5 s to let one trial call through.
 */
export function createBreaker<A extends unknown[], R>(call: (...args: A) => Promise<R>, options: BreakerOptions): CircuitBreaker<A, R> {
  const breaker = new CircuitBreaker<A, R>(call, {
    name: options.name,
    timeout: options.timeoutMs,
    errorThresholdPercentage: 50,
    volumeThreshold: 10,
    resetTimeout: 5000,
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
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
      if (!(error instanceof Error && /Timed out/.test(error.message) && (error as { code?: string }).code === 'ETIMEDOUT')) report('failure');
    });
    breaker.on('timeout', () => report('timeout'));
    breaker.on('reject', () => report('short_circuit'));
  }
  return breaker;
}
