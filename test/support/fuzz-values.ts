import fc from 'fast-check';

/**
 * JSON values for request bodies, shaped by the OpenAPI document's schemas: each part clean (what a
 * correct client sends) or hostile (type confusion, numbers beyond every range, lone surrogates,
 * very long strings), by the odds of the layer it is drawn for.
 */

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  pattern?: string;
  maxLength?: number;
  maxItems?: number;
  format?: string;
  example?: unknown;
}

export interface FuzzFixtures {
  /** Ids that exist (anchors, rooms, viewers, rewards), so some requests get past the lookups. */
  ids: number[];
  traceIds: string[];
  /** Expired, wrongly signed, unsigned tokens. */
  invalidAuthorizations: string[];
}

export interface FuzzContext {
  schemas: Record<string, JsonSchema>;
  fixtures: FuzzFixtures;
  /** `Bearer <token>` of the roles the operation admits (every role's for a public one). */
  authorizations: string[];
  /** Weights of a clean and a hostile value in this layer: [1, 0] is always clean, [0, 1] always hostile. */
  odds?: [clean: number, hostile: number];
}

/** A JSON token written as is, for what JSON.stringify cannot produce (1e400, 30-digit integers). */
export class RawJson {
  constructor(readonly text: string) {}
}

export function toJsonText(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof RawJson ? `\u0000${v.text}\u0000` : v)) ?? 'null';
  return text.replace(/"\\u0000([^"\\]*)\\u0000"/g, '$1');
}

/** Percent-encodes the UTF-8 bytes of any string (a lone surrogate becomes U+FFFD, as a browser sends it). */
export function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** A clean or a hostile value, by the layer's odds. */
export function layer<T>(ctx: FuzzContext, clean: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>): fc.Arbitrary<T> {
  const [cleanWeight, hostileWeight] = ctx.odds ?? [1, 0];
  if (hostileWeight === 0) return clean;
  if (cleanWeight === 0) return hostile;
  return fc.oneof({ weight: cleanWeight, arbitrary: clean }, { weight: hostileWeight, arbitrary: hostile });
}

export const TRACE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const DAY_MS = 86_400_000;

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Unicode of every kind, lone surrogates, injection classics, and long runs up to `longest` characters. */
export function hostileText(longest: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), loneSurrogate), maxLength: 20 }),
    fc.tuple(fc.string({ maxLength: 8 }), loneSurrogate, fc.string({ maxLength: 8 })).map((parts) => `a${parts.join('')}`),
    fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'null',
      '__proto__',
      "'; DROP TABLE anchor; --",
      '%s%n',
      '${jndi:x}',
      '<script>',
      '\u202e',
      '😀'.repeat(40),
    ),
    fc.integer({ min: 60, max: longest }).map((n) => 'x'.repeat(n)),
  );
}

/** For bodies: strings beyond every column's length. */
const hostileValue = hostileText(70_000);

function integerValue(ctx: FuzzContext): fc.Arbitrary<unknown> {
  return layer(
    ctx,
    fc.constantFrom(...ctx.fixtures.ids),
    fc.oneof(
      fc.integer({ min: 1, max: 1000 }),
      fc.constantFrom(0, -1, -0, 1.5, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 63, 1e21, Number.MIN_VALUE),
      fc
        .constantFrom('1e400', '-1e400', '123456789012345678901234567890', '1.0', '1E2', '-0.0', '9007199254740993', '1e-400')
        .map((text) => new RawJson(text)),
      fc.oneof(fc.constantFrom(...ctx.fixtures.ids).map(String), fc.constant(null), fc.boolean(), fc.double()),
    ),
  );
}

function amountValue(ctx: FuzzContext): fc.Arbitrary<unknown> {
  return layer<unknown>(
    ctx,
    fc.integer({ min: 1, max: 100_00 }).map((fen) => (fen / 100).toFixed(2)),
    fc.oneof(
      fc.constantFrom(
        '0.01',
        '100',
        '100.5',
        '0',
        '-1',
        '0.001',
        '1e2',
        '.5',
        '01.00',
        '100000.01',
        '99999999999999.99',
        ' 1',
        '1,00',
        'NaN',
      ),
      fc.oneof(fc.double(), fc.integer(), fc.constantFrom(1.005, 0.1 + 0.2, 1e-7, 1e300, 100_000)),
      fc.constantFrom('1e400', '100.00000000000000000001', '0.1e1').map((text) => new RawJson(text)),
    ),
  );
}

function dateTimeValue(ctx: FuzzContext): fc.Arbitrary<unknown> {
  return layer<unknown>(
    ctx,
    fc.integer({ min: -400, max: 400 }).map((days) => new Date(Date.now() + days * DAY_MS).toISOString()),
    fc.oneof(
      fc.date({ min: new Date('1960-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom(
        '1969-12-31T23:59:59Z',
        '9999-12-31T23:59:59.999Z',
        '+010000-01-01T00:00:00Z',
        '2026-02-30T00:00:00Z',
        '2126-01-01T00:00:00+14:00',
        '2126-01-01T00:00:00-23:59',
        '2026-01-01',
        '0000-01-01T00:00:00Z',
      ),
      hostileValue,
    ),
  );
}

function rateValue(ctx: FuzzContext): fc.Arbitrary<unknown> {
  const hostile = fc.oneof(fc.constantFrom('1.00001', '-0.1', '2', '0.12345', '1e-1', '.5', ''), fc.double(), fc.constantFrom(0, 1, 0.5));
  return layer<unknown>(
    ctx,
    fc.integer({ min: 0, max: 10_000 }).map((n) => (n / 10_000).toFixed(4)),
    hostile,
  );
}

function stringValue(schema: JsonSchema, ctx: FuzzContext): fc.Arbitrary<unknown> {
  if (schema.format === 'date-time') return dateTimeValue(ctx);
  if (schema.example === '100.00') return amountValue(ctx);
  if (schema.example === '0.7000') return rateValue(ctx);
  if (schema.pattern !== undefined) {
    const matching = fc.stringMatching(new RegExp(schema.pattern));
    return layer(
      ctx,
      schema.pattern === TRACE_ID.source ? fc.oneof(matching, fc.constantFrom(...ctx.fixtures.traceIds)) : matching,
      hostileValue,
    );
  }
  const max = schema.maxLength ?? 64;
  const clean =
    schema.format === 'uri'
      ? fc.constantFrom('https://cdn.test/a.png', 'http://x.test/')
      : fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,15}$/);
  return layer(
    ctx,
    clean,
    fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('x'.repeat(max), 'x'.repeat(max + 1), `https://cdn.test/${'a'.repeat(max)}`, 'javascript:alert(1)'),
      hostileValue,
    ),
  );
}

function objectValue(schema: JsonSchema, ctx: FuzzContext): fc.Arbitrary<unknown> {
  const model = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, s]) => [key, jsonValueFor(s, ctx)]));
  const required = new Set(schema.required ?? []);
  const clean = fc.record(model, { requiredKeys: Object.keys(model).filter((key) => required.has(key)) });
  const someDropped = fc
    .record(model)
    .chain((full) => fc.subarray(Object.keys(full)).map((kept) => Object.fromEntries(kept.map((key) => [key, full[key]]))));
  return layer(ctx, clean, someDropped);
}

/** A value shaped by `schema`, each part clean or hostile on its own; a hostile one may be any JSON at all. */
export function jsonValueFor(schema: JsonSchema, ctx: FuzzContext): fc.Arbitrary<unknown> {
  const resolved = schema.$ref ? (ctx.schemas[schema.$ref.replace('#/components/schemas/', '')] ?? {}) : schema;
  return layer(
    ctx,
    shapedValue(resolved, ctx),
    fc.oneof({ weight: 8, arbitrary: shapedValue(resolved, ctx) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }),
  );
}

function shapedValue(schema: JsonSchema, ctx: FuzzContext): fc.Arbitrary<unknown> {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => jsonValueFor(s, ctx)));
  if (schema.enum) return layer(ctx, fc.constantFrom(...schema.enum), hostileValue);
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? 'any'];
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      if (type === 'object') return objectValue(schema, ctx);
      if (type === 'array') {
        const item = jsonValueFor(schema.items ?? {}, ctx);
        const tooMany = (schema.maxItems ?? 10) + 1;
        return layer(
          ctx,
          fc.array(item, { minLength: 1, maxLength: 3 }),
          fc.oneof(
            fc.constant([]),
            item.map((one) => Array.from({ length: tooMany }, () => one)),
          ),
        );
      }
      if (type === 'integer') return integerValue(ctx);
      if (type === 'number') return fc.oneof(fc.double(), integerValue(ctx));
      if (type === 'string') return stringValue(schema, ctx);
      if (type === 'boolean') return layer<unknown>(ctx, fc.boolean(), fc.constantFrom('true', 1, null));
      if (type === 'null') return fc.constant(null);
      return fc.jsonValue({ maxDepth: 2 });
    }),
  );
}
