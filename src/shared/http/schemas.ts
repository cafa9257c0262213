import { z } from 'zod';
import { AMOUNT_PATTERN, formatFen, MAX_AMOUNT_FEN, parseAmountToFen } from '../money';

/** Shared zod building blocks; they also feed the OpenAPI document. */

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().meta({ example: 'VALIDATION_FAILED' }),
    traceId: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable `code`.' });

/** A positive integer id in a path or query string ("abc", "0", "1.5" are 400). */
export const idParam = z
  .string()
  // One check, so a bad id is reported once; 16 digits can exceed 2^53 and would be rounded.
  .refine((value) => /^[1-9]\d{0,15}$/.test(value) && Number.isSafeInteger(Number(value)), 'must be a positive integer id')
  .transform(Number)
  .meta({ type: 'integer', example: 42 });

/** A positive integer id in a JSON body: a JSON integer, not a string (z.int() also refuses anything beyond 2^53 - 1). */
export const idField = z.int().positive().meta({ example: 42 });

export const isoTime = z.string().meta({ format: 'date-time', example: '2026-01-02T10:30:45.000Z' });

/** The instants a DATETIME column holds on both databases: 1970-01-01 up to the end of 9999, UTC. */
const LATEST_STORABLE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A date-time in a request: ISO 8601 with Z or an offset, that lands in 1970–9999 UTC once the offset is applied. */
export function isoTimeIn(example = '2026-01-02T00:00:00Z') {
  return z.iso.datetime({ offset: true, abort: true, error: `must be an ISO 8601 date-time, e.g. ${example}` }).refine((value) => {
    const ms = Date.parse(value);
    return ms >= 0 && ms <= LATEST_STORABLE_MS;
  }, 'must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z');
}

export const moneyOut = z.string().meta({ example: '100.00', description: 'Amount with two decimals.' });

/** Money in a request: "100.00" or a JSON number with at most two decimals; becomes integer fen, at most MAX_AMOUNT_FEN. */
export function moneyIn(options: { min?: number; maxFen?: number } = {}) {
  const minFen = options.min ?? 1;
  const maxFen = Math.min(options.maxFen ?? MAX_AMOUNT_FEN, MAX_AMOUNT_FEN);
  return z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const fen = parseAmountToFen(value);
      if (fen === null) {
        ctx.addIssue({ code: 'custom', message: `must be an amount with at most two decimals matching ${AMOUNT_PATTERN.source}` });
        return z.NEVER;
      }
      if (fen < minFen) {
        ctx.addIssue({ code: 'custom', message: minFen === 1 ? 'must be greater than 0' : 'is too small' });
        return z.NEVER;
      }
      if (fen > maxFen) {
        ctx.addIssue({ code: 'custom', message: `must not exceed the maximum of ${formatFen(maxFen)}` });
        return z.NEVER;
      }
      return fen;
    })
    .meta({ type: 'string', example: '100.00', description: 'Amount: a string or number with at most two decimals.' });
}

export const pagingQuery = {
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
};

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    page: z.number().int(),
    pageSize: z.number().int(),
    total: z.number().int(),
  });
}

/** A short human text: trimmed, not empty, bounded. */
export function text(max: number) {
  return z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
}

/**
 * The one way to filter by time: `from`/`to` in ISO 8601, half-open `[from, to)`, either may be left
 * out; `from` must lie before `to`. Spread into a list's query object with `pagingQuery`.
 */
export const timeRangeQuery = {
  from: isoTimeIn().optional().meta({ description: 'Inclusive lower bound (ISO 8601).' }),
  to: isoTimeIn().optional().meta({ description: 'Exclusive upper bound (ISO 8601).' }),
};

/** A refinement for a query holding `timeRangeQuery`: `from` before `to`, reported on `to`. */
export function fromBeforeTo(query: { from?: string | undefined; to?: string | undefined }): boolean {
  return query.from === undefined || query.to === undefined || Date.parse(query.from) < Date.parse(query.to);
}

export const FROM_BEFORE_TO = { path: ['to'], message: 'must be after from' };
