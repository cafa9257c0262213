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

// Unique without a random draw per id: a random part, redrawn each time the 16-bit counter wraps.
let randomPart = randomBytes(2).toString('hex');
let sequence = 0;
let stamp = { second: -1, text: '' };

/** `YYYYMMDD-HHMMSS` in UTC, formatted once per second. */
function secondStamp(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== stamp.second) {
    const iso = now.toISOString();
    stamp = { second, text: `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}` };
  }
  return stamp.text;
}

/** `PREFIX-YYYYMMDD-HHMMSS-<8 hex>` in UTC, e.g. `RC-20260102-103045-9f2c07b3`. */
export function generateTraceId(prefix = 'TR', now: Date = new Date()): string {
  sequence = (sequence + 1) & 0xffff;
  if (sequence === 0) randomPart = randomBytes(2).toString('hex');
  return `${prefix}-${secondStamp(now)}-${randomPart}${sequence.toString(16).padStart(4, '0')}`;
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
