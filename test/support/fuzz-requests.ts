import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { hostileText, jsonValueFor, layer, percentEncode, toJsonText, TRACE_ID, type FuzzContext, type JsonSchema } from './fuzz-values';

/**
 * Requests for one documented operation, built from the service's own OpenAPI document. Each layer
 * of a request (path, query, body fields, body bytes, each header) is clean — what a correct client
 * sends — or hostile. A request is calm (all clean), hostile in exactly one layer (so the hostile
 * part reaches as deep as a valid request would), or chaotic (each layer hostile at a quarter).
 */

export interface Operation {
  method: string;
  path: string;
  parameters?: Array<{ name: string; in: string; schema: JsonSchema }>;
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

const LAYERS = ['path', 'query', 'fields', 'body', 'contentType', 'encoding', 'authorization', 'traceId', 'extra'] as const;
type Layer = (typeof LAYERS)[number];

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The bytes sent: `payload` after any compression. */
  body: Buffer | undefined;
  payload: Buffer | undefined;
}

/** What Node's HTTP client accepts in a header value. */
const headerSafeText = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
/** For the URL: short enough that the request head stays within Node's 16 KiB header limit (else Node itself answers 431). */
const hostileUrlPart = hostileText(1000).map((text) => percentEncode(text));

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'items[0]', 'a.b'];

/** Adds a key to the JSON text of an object (`{"__proto__": …}` cannot be built as an object literal). */
function withKey(text: string, key: string, value: unknown): string {
  if (!text.startsWith('{')) return text;
  return `{${JSON.stringify(key)}:${toJsonText(value)}${text === '{}' ? '' : ','}${text.slice(1)}`;
}

function hostileBodyText(shaped: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const pollution = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constant({ polluted: true }),
    fc.constant({ prototype: { polluted: true } }),
  );
  return fc.oneof(
    fc.tuple(shaped, fc.constantFrom(...HOSTILE_KEYS), pollution).map(([text, key, value]) => withKey(text, key, value)),
    fc.jsonValue({ stringUnit: 'binary' }).map((v) => JSON.stringify(v)),
    fc
      .tuple(fc.constantFrom('[', '{"a":'), fc.constantFrom(10, 1000, 100_000))
      .map(([open, depth]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`),
    fc.constantFrom(64_000, 1_100_000).map((n) => JSON.stringify({ name: 'x'.repeat(n), nickname: 'y', title: 'z' })),
    fc.constantFrom('', ' ', '\n\t', 'null', '"just a string"', '[]', '{', '{"a":1}}', "{'single':1}", '{"a":NaN}', '\ufeff{}'),
  );
}

/** Inside the first string value when there is one (the JSON stays well-formed), else in the middle. */
function spliceBytes(text: string, bad: readonly number[]): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const stringValue = bytes.indexOf('":"');
  const at = stringValue >= 0 ? stringValue + 3 : Math.floor(bytes.length / 2);
  return Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]);
}

function hostileBodyBytes(text: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  const badBytes = fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe9], [0xf8, 0x88, 0x80, 0x80, 0x80]);
  return fc.oneof(
    { weight: 3, arbitrary: hostileBodyText(text).map((t) => Buffer.from(t, 'utf8')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 2, arbitrary: fc.tuple(text, badBytes).map(([t, bad]) => spliceBytes(t, bad)) },
  );
}

const COMPRESSORS: Record<string, (bytes: Buffer) => Buffer> = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };
type Damage = 'none' | 'truncate' | 'raw';

/** The body as sent under `encoding`: compressed when the encoding is known, then cut short or not compressed at all when damaged. */
function encodeBody(bytes: Buffer, encoding: string | undefined, damage: Damage): Buffer {
  const compress = encoding ? COMPRESSORS[encoding.toLowerCase()] : undefined;
  if (!compress || damage === 'raw') return bytes;
  const packed = compress(bytes);
  return damage === 'truncate' ? packed.subarray(0, Math.max(1, Math.floor(packed.length / 2))) : packed;
}

function contentTypeLayer(ctx: FuzzContext): fc.Arbitrary<string | undefined> {
  return layer<string | undefined>(
    ctx,
    fc.constantFrom('application/json', 'application/json; charset=utf-8'),
    fc.oneof(
      fc.constantFrom(
        undefined,
        'APPLICATION/JSON',
        'application/json; charset=foo',
        'application/json; charset=utf-16le',
        'application/json; charset=latin1',
        'application/json; charset',
        'application/json;;;',
      ),
      fc.constantFrom(
        'application/problem+json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'text/plain',
        '*/*',
        '',
        '/',
      ),
      headerSafeText,
    ),
  );
}

function encodingLayer(ctx: FuzzContext): fc.Arbitrary<{ encoding: string | undefined; damage: Damage }> {
  return layer<{ encoding: string | undefined; damage: Damage }>(
    ctx,
    fc.record({
      encoding: fc.constantFrom(undefined, undefined, undefined, 'identity', 'gzip', 'deflate', 'br'),
      damage: fc.constant<Damage>('none'),
    }),
    fc.record({
      encoding: fc.oneof(fc.constantFrom('gzip', 'deflate', 'br', 'GZIP', 'x-unknown', 'gzip, br', 'zstd', 'compress', ''), headerSafeText),
      damage: fc.constantFrom<Damage>('none', 'truncate', 'raw'),
    }),
  );
}

function authorizationLayer(ctx: FuzzContext): fc.Arbitrary<string | undefined> {
  const allowed = fc.constantFrom(...ctx.authorizations);
  const mangled = fc.tuple(allowed, fc.nat()).map(([header, n]) => {
    const token = header.slice('Bearer '.length);
    const at = n % token.length;
    const flipped = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    const variants = [
      `bearer ${token}`,
      `Bearer  ${token}`,
      `Bearer ${token} `,
      `Bearer ${token.slice(0, at)}`,
      `Bearer ${flipped}`,
      `Basic ${token}`,
      token,
    ];
    return variants[n % variants.length];
  });
  const garbage = fc.oneof(
    fc.constantFrom(...ctx.fixtures.invalidAuthorizations, undefined, 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a.b.c'),
    headerSafeText,
  );
  return layer(ctx, allowed, fc.oneof(mangled, garbage));
}

function traceHeaderLayer(ctx: FuzzContext): fc.Arbitrary<string | undefined> {
  return layer<string | undefined>(
    ctx,
    fc.oneof(fc.constant(undefined), fc.stringMatching(TRACE_ID)),
    fc.oneof(headerSafeText, fc.constant('a'.repeat(65))),
  );
}

/** Headers no operation reads, in values a proxy or a browser might send. */
function extraHeadersLayer(ctx: FuzzContext): fc.Arbitrary<Record<string, string>> {
  const hostile = fc.oneof(
    fc.record({
      'X-Forwarded-For': fc.oneof(headerSafeText, fc.constantFrom('unknown', '::1, 10.0.0.1', '1.2.3.4, , ,', '999.999.999.999')),
    }),
    fc.record({ Accept: fc.constantFrom('text/html', 'application/xml', '*/*;q=0', 'application/problem+json') }),
    fc.record({ 'X-HTTP-Method-Override': fc.constantFrom('DELETE', 'PUT', 'GET') }),
    fc.record({ Range: fc.constantFrom('bytes=0-1', 'bytes=-1', 'lines=1') }),
    fc.record({ 'If-None-Match': fc.constantFrom('*', 'W/"x"') }),
  );
  return layer<Record<string, string>>(ctx, fc.constant({}), hostile);
}

function pathValue(schema: JsonSchema, ctx: FuzzContext): fc.Arbitrary<string> {
  const clean =
    schema.type === 'integer'
      ? fc.constantFrom(...ctx.fixtures.ids).map(String)
      : fc.oneof(fc.stringMatching(new RegExp(schema.pattern ?? '^[a-z]{1,8}$')), fc.constantFrom(...ctx.fixtures.traceIds));
  const odd = fc.constantFrom(
    '0',
    '-1',
    '1.5',
    '1e3',
    '01',
    '+1',
    '0x10',
    '9007199254740993',
    '9'.repeat(40),
    'abc',
    '..',
    '.',
    '%2e%2e',
    '%00',
    '%',
    '%E0%A4%A',
    '%FF',
    'NaN',
    '__proto__',
    'constructor',
    'a/b',
    '',
    '%2F',
    'a'.repeat(65),
  );
  return layer(ctx, clean, fc.oneof(fc.nat().map(String), odd, hostileUrlPart));
}

function queryLayer(operation: Operation, ctx: FuzzContext): fc.Arbitrary<string> {
  const pairs = (operation.parameters ?? [])
    .filter((p) => p.in === 'query')
    .map((param) => {
      const key = percentEncode(param.name);
      const value = queryValue(param.schema, ctx);
      const odd = fc.oneof(
        fc.constant(''),
        fc.tuple(value, value).map(([a, b]) => `${key}=${a}&${key}=${b}`),
        value.map((v) => `${key}[a]=${v}`),
        fc.constantFrom(`${key}=`, key, `${key}[]=1`, `${key}=${'9'.repeat(6000)}`),
      );
      return layer(
        ctx,
        value.map((v) => `${key}=${v}`),
        odd,
      );
    });
  const extra = layer(
    ctx,
    fc.constant(''),
    fc.oneof(
      fc.constantFrom(
        '__proto__=1',
        'constructor[prototype][polluted]=1',
        '__proto__[polluted]=1',
        'a[b]=1',
        'page=0&pageSize=1000',
        '&&&',
        '=',
        '%=%',
      ),
      fc.tuple(hostileUrlPart, hostileUrlPart).map(([k, v]) => `${k}=${v}`),
    ),
  );
  return fc.tuple(fc.tuple(...pairs), extra).map(([parts, more]) => [...parts, more].filter((p) => p !== '').join('&'));
}

function queryValue(schema: JsonSchema, ctx: FuzzContext): fc.Arbitrary<string> {
  if (schema.enum) return layer(ctx, fc.constantFrom(...schema.enum.map(String)), hostileUrlPart);
  if (schema.pattern)
    return layer(ctx, fc.oneof(fc.stringMatching(new RegExp(schema.pattern)), fc.constant(ctx.fixtures.ids.join(','))), hostileUrlPart);
  return pathValue(schema, ctx);
}

/** A counterexample as fast-check prints it: long parts cut, so a 1 MiB body stays readable. */
function describeRequest(request: FuzzRequest): string {
  const cut = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}… (${text.length} characters)` : text);
  const body =
    request.payload === undefined
      ? 'none'
      : `${JSON.stringify(cut(request.payload.toString('latin1')))} (${request.payload.length} bytes, ${request.body?.length ?? 0} sent)`;
  return `${request.method.toUpperCase()} ${cut(request.url)} headers ${cut(JSON.stringify(request.headers))} body ${body}`;
}

type Mode = 'calm' | 'chaos' | Layer;

/** Every layer of one request to `operation`: calm, hostile in one layer, or chaotic. */
export function requestArbitrary(operation: Operation, ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const modes: Array<fc.WeightedArbitrary<FuzzRequest>> = [
    { weight: 3, arbitrary: layeredRequest(operation, ctx, 'calm') },
    { weight: 3, arbitrary: layeredRequest(operation, ctx, 'chaos') },
    ...LAYERS.map((name) => ({ weight: name === 'fields' ? 3 : 1, arbitrary: layeredRequest(operation, ctx, name) })),
  ];
  return fc.oneof(...modes);
}

function layeredRequest(operation: Operation, base: FuzzContext, mode: Mode): fc.Arbitrary<FuzzRequest> {
  const at = (name: Layer): FuzzContext => {
    if (mode === 'chaos') return { ...base, odds: [3, 1] };
    if (mode !== name) return { ...base, odds: [1, 0] };
    // Many calls draw a field each: half of them hostile leaves the others to carry the request on.
    return { ...base, odds: name === 'fields' ? [1, 1] : [0, 1] };
  };
  const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path');
  const path = fc
    .tuple(...pathParams.map((p) => pathValue(p.schema, at('path'))))
    .map((values) => pathParams.reduce((built, param, i) => built.replace(`{${param.name}}`, values[i] ?? ''), operation.path));
  const schema = operation.requestBody?.content['application/json']?.schema;
  const fieldsText = (schema ? jsonValueFor(schema, at('fields')) : fc.constant(undefined)).map(toJsonText);
  const body = layer(
    at('body'),
    schema ? fieldsText.map((text) => Buffer.from(text)) : fc.constant(undefined),
    hostileBodyBytes(fieldsText),
  );
  const parts = {
    path,
    query: queryLayer(operation, at('query')),
    body,
    contentType: contentTypeLayer(at('contentType')),
    compression: encodingLayer(at('encoding')),
    authorization: authorizationLayer(at('authorization')),
    traceId: traceHeaderLayer(at('traceId')),
    extra: extraHeadersLayer(at('extra')),
  };
  return fc.record(parts).map((r) => {
    const headers: Record<string, string> = { ...r.extra };
    if (r.authorization !== undefined) headers['Authorization'] = r.authorization;
    if (r.traceId !== undefined) headers['X-Trace-Id'] = r.traceId;
    if (r.body !== undefined && r.contentType !== undefined) headers['Content-Type'] = r.contentType;
    if (r.body !== undefined && r.compression.encoding !== undefined) headers['Content-Encoding'] = r.compression.encoding;
    const sent = r.body === undefined ? undefined : encodeBody(r.body, r.compression.encoding, r.compression.damage);
    const request: FuzzRequest = {
      method: operation.method,
      url: r.query === '' ? r.path : `${r.path}?${r.query}`,
      headers,
      body: sent,
      payload: r.body,
    };
    return Object.assign(request, { [fc.toStringMethod]: () => describeRequest(request) });
  });
}
