import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/** Per-request (or per-job) context carried through every await by AsyncLocalStorage. */
export interface TraceContext {
  traceId: string;
}

const storage = new AsyncLocalStorage<TraceContext>();

export const TRACE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const TRACE_HEADER = 'X-Trace-Id';

export function isValidTraceId(value: unknown): value is string {
  return typeof value === 'string' && TRACE_ID_PATTERN.test(value);
}

/** `PREFIX-YYYYMMDD-HHMMSS-<hex>` in UTC, e.g. `RC-20260102-103045-9f2c1a7b`. */
export function generateTraceId(prefix = 'TR', now: Date = new Date()): string {
  const iso = now.toISOString();
  const date = iso.slice(0, 10).replaceAll('-', '');
  const time = iso.slice(11, 19).replaceAll(':', '');
  return `${prefix}-${date}-${time}-${randomBytes(4).toString('hex')}`;
}

export function runWithTrace<T>(context: TraceContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}

export function currentTraceId(): string | undefined {
  return storage.getStore()?.traceId;
}
