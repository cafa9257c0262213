import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request, { type Response, type Test } from 'supertest';
import { createApp } from '../../src/app';
import { route } from '../../src/shared/http/routes';
import { createHttpServer } from '../../src/shared/http/server';
import { createLogger } from '../../src/shared/logger';
import { createMetrics } from '../../src/shared/metrics';
import type { ModuleSurface } from '../../src/shared/module';
import { createAnchor, createTestPlatform, newTraceId, type TestPlatform } from '../support/platform';
import { metricSample, metricsOf } from '../support/prometheus';

const GENERATED_TRACE_ID = /^TR-\d{8}-\d{6}-[0-9a-f]{8}$/;

let t: TestPlatform;
const logLines: string[] = [];

beforeAll(async () => {
  t = await createTestPlatform({}, { logLines });
});

afterAll(async () => {
  await t.close();
});

/** A problem+json answer with the contract's fields, its trace id matching the header, and no internals. */
function expectProblem(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String), code });
  expect(res.body.traceId).toBe(res.headers['x-trace-id']);
  expect(res.text).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(|[\w/\\-]+\.(ts|js):\d+|node_modules|\/work\/|Error: /);
}

/** Log lines at error or warn level written since `from` (an index into logLines). */
function loudLinesSince(from: number): string[] {
  return logLines.slice(from).filter((line) => /"level":"(error|warn)"/.test(line));
}

/** Sends `body` byte for byte: superagent would JSON-encode a Buffer sent under a JSON Content-Type. */
function sendBytes(test: Test, body: Buffer): Test {
  return test.serialize((value) => value as string).send(body);
}

async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; !(await condition()); attempt += 1) {
    if (attempt > 200) throw new Error(`waited in vain for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function anchorCount(platform: TestPlatform): Promise<number> {
  const row = await platform.db1('anchor').count({ n: '*' }).first();
  return Number(row?.['n']);
}

describe('trace ids', () => {
  it('when a well-formed X-Trace-Id is sent, then the same value is echoed (up to 64 characters of the allowed set)', async () => {
    for (const offered of [newTraceId('HB'), 'abc.DEF_123-xyz', 'a'.repeat(64)]) {
      const res = await t.http.get('/health').set('X-Trace-Id', offered).expect(200);
      expect(res.headers['x-trace-id']).toBe(offered);
    }
  });

  it('when X-Trace-Id is absent, then a fresh TR-… id is generated for each request', async () => {
    const first = await t.http.get('/health').expect(200);
    const second = await t.http.get('/health').expect(200);
    expect(first.headers['x-trace-id']).toMatch(GENERATED_TRACE_ID);
    expect(second.headers['x-trace-id']).toMatch(GENERATED_TRACE_ID);
    expect(second.headers['x-trace-id']).not.toBe(first.headers['x-trace-id']);
  });

  it('when X-Trace-Id is malformed (65 characters, a space, a slash), then it is replaced by a generated one', async () => {
    for (const offered of ['a'.repeat(65), 'has space', 'a/b', 'x;y']) {
      const res = await t.http.get('/health').set('X-Trace-Id', offered).expect(200);
      expect(res.headers['x-trace-id']).toMatch(GENERATED_TRACE_ID);
      expect(res.headers['x-trace-id']).not.toBe(offered);
    }
  });

  it('when a request fails, then the problem body carries the same traceId as the header, offered or generated', async () => {
    const offered = newTraceId('HB');
    const withHeader = await t.http.get('/no/such/route').set('X-Trace-Id', offered);
    expectProblem(withHeader, 404, 'ROUTE_NOT_FOUND');
    expect(withHeader.body.traceId).toBe(offered);

    const generated = await t.http.get('/no/such/route').set('X-Trace-Id', 'not valid');
    expectProblem(generated, 404, 'ROUTE_NOT_FOUND');
    expect(generated.body.traceId).toMatch(GENERATED_TRACE_ID);
  });
});

describe('routing errors', () => {
  it('when a path differs from a route only by a trailing slash, then the route answers; by letter case or an empty segment, then 404', async () => {
    const auth = await t.auth('admin');
    const anchorId = await createAnchor(t, 'Routing');
    const withSlash = await t.http.get(`/anchor/api/v1/anchors/${anchorId}/`).set('Authorization', auth).expect(200);
    expect(withSlash.body.anchorId).toBe(anchorId);
    expectProblem(await t.http.get(`/anchor/api/v1/Anchors/${anchorId}`).set('Authorization', auth), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await t.http.post('/anchor/api/v1/live-rooms//start').set('Authorization', auth).send({}), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await t.http.get('/anchor/api/v1/nope/%E0%A4%A'), 404, 'ROUTE_NOT_FOUND');
  });

  it('when a GET route is asked with HEAD, then it answers its status and headers without a body', async () => {
    const anchorId = await createAnchor(t, 'Head');
    const res = await t.http.head(`/anchor/api/v1/anchors/${anchorId}`).set('Authorization', await t.auth('admin'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text ?? '').toBe('');
    expect((await t.http.head('/anchor/api/v1/anchors/999999999').set('Authorization', await t.auth('admin'))).status).toBe(404);
  });

  it('when the route does not exist, then 404 ROUTE_NOT_FOUND as problem+json', async () => {
    expectProblem(await t.http.get('/nope'), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await t.http.get('/anchor/api/v1/nope'), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await t.http.post('/audience/api/v1/audiences/1/nope').send({}), 404, 'ROUTE_NOT_FOUND');
  });

  it('when the method is wrong on a known path, then 405 METHOD_NOT_ALLOWED with Allow listing the right methods', async () => {
    const cases: Array<[method: 'get' | 'put' | 'delete' | 'patch', path: string, allow: string[]]> = [
      ['delete', '/anchor/api/v1/anchors', ['GET', 'HEAD', 'POST']],
      ['get', '/anchor/api/v1/anchors/5/disable', ['POST']],
      ['put', '/anchor/api/v1/live-rooms/123', ['GET', 'HEAD', 'PATCH']],
      ['get', '/anchor/api/v1/live-rooms/123/start', ['POST']],
      ['put', '/audience/api/v1/audiences/5', ['GET', 'HEAD', 'PATCH']],
      ['delete', '/health', ['GET', 'HEAD']],
    ];
    for (const [method, path, allow] of cases) {
      const res = await t.http[method](path);
      expectProblem(res, 405, 'METHOD_NOT_ALLOWED');
      expect({ path, allow: String(res.headers['allow']).split(/,\s*/).sort() }).toEqual({ path, allow: [...allow].sort() });
    }
  });

  it('when a path segment is not valid percent-encoding, then 400 VALIDATION_FAILED, never a 500', async () => {
    // Bad input must never be a 500 (API.md Conventions).
    const res = await t.http.get('/anchor/api/v1/live-rooms/%E0%A4%A');
    expectProblem(res, 400, 'VALIDATION_FAILED');
  });
});

describe('request bodies', () => {
  it('when the JSON is malformed, then 400 VALIDATION_FAILED with field "body" and nothing is stored', async () => {
    const before = await anchorCount(t);
    const res = await t.http
      .post('/anchor/api/v1/anchors')
      .set('Authorization', await t.auth('admin'))
      .set('Content-Type', 'application/json')
      .send('{"name": "Alice"');
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.errors).toEqual([{ field: 'body', message: expect.any(String) }]);
    expect(await anchorCount(t)).toBe(before);
  });

  it('when a JSON body is sent as text/plain, then 415 UNSUPPORTED_MEDIA_TYPE and nothing is stored', async () => {
    const before = await anchorCount(t);
    const res = await t.http
      .post('/anchor/api/v1/anchors')
      .set('Authorization', await t.auth('admin'))
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify({ name: 'Plain' }));
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(await anchorCount(t)).toBe(before);
  });

  it('when a JSON string or key holds an escaped lone surrogate, then 400 VALIDATION_FAILED naming the field and nothing is stored; a surrogate pair is kept', async () => {
    const admin = await t.auth('admin');
    const before = await anchorCount(t);
    const deep = `${'['.repeat(50_000)}"\\ud800"${']'.repeat(50_000)}`;
    const cases: Array<[body: string, field: string]> = [
      ['{"name":"a\\ud800b"}', 'name'],
      ['{"name":"Ok","avatarUrl":"https://cdn.test/\\udc00.png"}', 'avatarUrl'],
      ['{"name":"Ok","\\ud83d":1}', '\ud83d'],
      [deep, 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await t.http
        .post('/anchor/api/v1/anchors')
        .set('Authorization', admin)
        .set('Content-Type', 'application/json')
        .send(body);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([{ field, message: expect.stringContaining('lone surrogate') }]);
    }
    expect(await anchorCount(t)).toBe(before);

    const pair = await t.http
      .post('/anchor/api/v1/anchors')
      .set('Authorization', admin)
      .set('Content-Type', 'application/json')
      .send('{"name":"\\ud83d\\ude00"}');
    expect({ status: pair.status, name: pair.body.name }).toEqual({ status: 201, name: '\u{1F600}' });
  });

  it('when the body is larger than BODY_LIMIT, then 413 PAYLOAD_TOO_LARGE (before the token is looked at) and nothing is stored', async () => {
    const small = await createTestPlatform({ BODY_LIMIT: '1kb' });
    try {
      const before = await anchorCount(small);
      const big = { name: 'Big', avatarUrl: `https://cdn.test/${'x'.repeat(2000)}.png` };
      const admin = await small.http
        .post('/anchor/api/v1/anchors')
        .set('Authorization', await small.auth('admin'))
        .send(big);
      expectProblem(admin, 413, 'PAYLOAD_TOO_LARGE');
      const anonymous = await small.http.post('/anchor/api/v1/anchors').send(big);
      expectProblem(anonymous, 413, 'PAYLOAD_TOO_LARGE');
      expect(await anchorCount(small)).toBe(before);

      const fits = await small.http
        .post('/anchor/api/v1/anchors')
        .set('Authorization', await small.auth('admin'))
        .send({ name: 'Fits' })
        .expect(201);
      expect(await anchorCount(small)).toBe(before + 1);
      expect(fits.body.name).toBe('Fits');
    } finally {
      await small.close();
    }
  });
});

describe('compressed, encoded and cut-off bodies', () => {
  const json = Buffer.from(JSON.stringify({ name: 'Packed' }));

  function postAnchor(headers: Record<string, string>, body: Buffer, authorization: string): Test {
    const test = t.http.post('/anchor/api/v1/anchors').set('Authorization', authorization).set('Content-Type', 'application/json');
    for (const [name, value] of Object.entries(headers)) test.set(name, value);
    return sendBytes(test, body);
  }

  it('when the body is gzip, deflate or br that is not valid compressed data, then 400 VALIDATION_FAILED (field "body"), nothing stored, nothing logged as an error', async () => {
    const admin = await t.auth('admin');
    const cases: Array<[encoding: string, body: Buffer]> = [
      ['gzip', Buffer.from('this is not gzip')],
      ['gzip', gzipSync(json).subarray(0, 12)],
      ['deflate', Buffer.from('this is not deflate')],
      ['br', Buffer.from('this is not brotli at all')],
    ];
    for (const [encoding, body] of cases) {
      const before = await anchorCount(t);
      const from = logLines.length;
      const res = await postAnchor({ 'Content-Encoding': encoding }, body, admin);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect({ encoding, errors: res.body.errors }).toEqual({ encoding, errors: [{ field: 'body', message: expect.any(String) }] });
      expect(await anchorCount(t)).toBe(before);
      expect({ encoding, loud: loudLinesSince(from) }).toEqual({ encoding, loud: [] });
    }
  });

  it('when the body is valid gzip, deflate or br JSON, then it is read as the JSON it holds', async () => {
    const admin = await t.auth('admin');
    for (const [encoding, body] of [
      ['gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['br', brotliCompressSync(json)],
    ] as const) {
      const res = await postAnchor({ 'Content-Encoding': encoding }, body, admin);
      expect({ encoding, status: res.status, name: res.body.name }).toEqual({ encoding, status: 201, name: 'Packed' });
    }
  });

  it('when the Content-Encoding or the charset is unknown, then 415 UNSUPPORTED_MEDIA_TYPE and nothing is stored', async () => {
    const admin = await t.auth('admin');
    const before = await anchorCount(t);
    expectProblem(await postAnchor({ 'Content-Encoding': 'x-unheard-of' }, json, admin), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await postAnchor({ 'Content-Encoding': 'gzip, br' }, json, admin), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectProblem(await postAnchor({ 'Content-Type': 'application/json; charset=foo' }, json, admin), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(await anchorCount(t)).toBe(before);
  });

  it('when a gzip body inflates beyond BODY_LIMIT (a zip bomb), then 413 PAYLOAD_TOO_LARGE without inflating it all, nothing stored', async () => {
    // 64 gzip members of 16 MiB of spaces each: about 1 MiB on the wire, 1 GiB inflated.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024, ' '));
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    const before = await anchorCount(t);
    const buffersBefore = process.memoryUsage().arrayBuffers;
    const res = await postAnchor({ 'Content-Encoding': 'gzip' }, bomb, await t.auth('admin'));
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(process.memoryUsage().arrayBuffers - buffersBefore).toBeLessThan(256 * 1024 * 1024);
    expect(await anchorCount(t)).toBe(before);
  });

  it('when the body is not valid UTF-8, then 400 VALIDATION_FAILED (field "body") and nothing is stored', async () => {
    const before = await anchorCount(t);
    const latin1 = Buffer.concat([Buffer.from('{"name":"Caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const cesuSurrogate = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    for (const body of [latin1, cesuSurrogate]) {
      const res = await postAnchor({}, body, await t.auth('admin'));
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([{ field: 'body', message: expect.any(String) }]);
    }
    expect(await anchorCount(t)).toBe(before);
  });

  /** Runs `exchange` against the service's own server listening on a loopback port: raw sockets need a real server. */
  async function withListeningApp(exchange: (port: number) => Promise<void>): Promise<void> {
    const server = createHttpServer(t.app).listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      await exchange((server.address() as AddressInfo).port);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  /**
   * Writes `bytes` as they are, then hangs up (`destroy`), half-closes (`end`) or waits for the
   * server to close; resolves with what came back once the server has answered the request with a
   * VALIDATION_FAILED (counted, as the answer itself may go nowhere) and the connection is closed.
   */
  async function rawExchange(port: number, bytes: Buffer, hangUp: 'destroy' | 'end' | 'wait'): Promise<string> {
    const problems = async () => metricSample(await metricsOf(t), 'http_problems_total', { code: 'VALIDATION_FAILED', status: '400' });
    const problemsBefore = await problems();
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => void (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(bytes, () => {
      if (hangUp === 'destroy') socket.destroy();
      if (hangUp === 'end') socket.end();
    });
    await waitUntil(async () => (await problems()) > problemsBefore, 'the cut-off request to be answered');
    await closed;
    return received;
  }

  function anchorRequestHead(authorization: string, headers: Record<string, string | number>): string {
    const lines = Object.entries({ Host: 'localhost', Authorization: authorization, 'Content-Type': 'application/json', ...headers }).map(
      ([name, value]) => `${name}: ${value}`,
    );
    return `POST /anchor/api/v1/anchors HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
  }

  it('when the client closes the connection in the middle of a plain or gzip body, then nothing is stored and nothing is logged as an error', async () => {
    await withListeningApp(async (port) => {
      const admin = await t.auth('admin');
      const before = await anchorCount(t);
      for (const encoding of ['identity', 'gzip']) {
        const from = logLines.length;
        const partial = encoding === 'gzip' ? gzipSync(json).subarray(0, 12) : json.subarray(0, 8);
        const head = anchorRequestHead(admin, { 'Content-Encoding': encoding, 'Content-Length': 1000 });
        await rawExchange(port, Buffer.concat([Buffer.from(head), partial]), 'destroy');
        expect({ encoding, loud: loudLinesSince(from) }).toEqual({ encoding, loud: [] });
      }
      expect(await anchorCount(t)).toBe(before);
    });
  });

  it('when Content-Length is larger than the body (then the client half-closes) or smaller (the rest reads as a broken next request), then a 4xx, nothing stored, nothing logged as an error', async () => {
    await withListeningApp(async (port) => {
      const admin = await t.auth('admin');
      const before = await anchorCount(t);
      const cases: Array<[name: string, declared: number, hangUp: 'end' | 'wait']> = [
        ['larger', json.length + 100, 'end'],
        ['smaller', json.length - 5, 'wait'],
      ];
      for (const [name, declared, hangUp] of cases) {
        const from = logLines.length;
        const received = await rawExchange(
          port,
          Buffer.concat([Buffer.from(anchorRequestHead(admin, { 'Content-Length': declared })), json]),
          hangUp,
        );
        expect({ name, statusLine: received.split('\r\n')[0] }).toEqual({ name, statusLine: expect.stringMatching(/^HTTP\/1\.1 4\d\d /) });
        expect({ name, loud: loudLinesSince(from) }).toEqual({ name, loud: [] });
      }
      expect(await anchorCount(t)).toBe(before);
    });
  });
});

describe('failures inside the service', () => {
  it('when DB1 is unreachable, then creating an anchor answers 503 DEPENDENCY_UNAVAILABLE with Retry-After', async () => {
    const down = await createTestPlatform({ DB1_URL: 'mysql://root@127.0.0.1:1/nope' });
    try {
      const res = await down.http
        .post('/anchor/api/v1/anchors')
        .set('Authorization', await down.auth('admin'))
        .send({ name: 'Nobody' });
      expectProblem(res, 503, 'DEPENDENCY_UNAVAILABLE');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|mysql/i);
    } finally {
      await down.close();
    }
  });

  it('when a handler throws an unexpected error, then 500 INTERNAL_ERROR without internals, logged with the trace id', async () => {
    const lines: string[] = [];
    const exploding: ModuleSurface = {
      name: 'analytics',
      routes: [
        {
          prefix: '/test-explode/api/v1',
          tag: 'test',
          routes: [
            route({
              method: 'get',
              path: '/boom',
              summary: 'Always throws',
              access: 'public',
              responses: { 200: { description: 'never' } },
              handle: () => {
                throw new Error('secret internal detail');
              },
            }),
          ],
        },
      ],
      jobs: [],
    };
    const app = createApp({
      config: t.config,
      logger: createLogger('debug', { write: (line: string) => void lines.push(line) }),
      metrics: createMetrics(),
      tokens: t.tokens,
      probe: t.probe,
      modules: [...t.modules, exploding],
    });
    const traceId = newTraceId('BOOM');
    const res = await request(app).get('/test-explode/api/v1/boom').set('X-Trace-Id', traceId);
    expectProblem(res, 500, 'INTERNAL_ERROR');
    expect(res.body.traceId).toBe(traceId);
    expect(res.text).not.toContain('secret internal detail');

    const logged = lines.map((line) => JSON.parse(line) as { traceId?: string; msg?: string; err?: { message?: string } });
    const errorLine = logged.find((entry) => entry.err?.message === 'secret internal detail');
    expect(errorLine).toBeDefined();
    expect(errorLine?.traceId).toBe(traceId);
  });
});

describe('metrics', () => {
  it('when a room is read by id, then the request histogram is labelled with the route template, never the raw URL', async () => {
    // Room 123 may exist in this worker's database or not: either answer is fine, a crash is not.
    const read = await t.http.get('/anchor/api/v1/live-rooms/123');
    expect([200, 404]).toContain(read.status);
    const anchorId = await createAnchor(t, 'Metric');
    await t.http
      .get(`/anchor/api/v1/anchors/${anchorId}`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);

    const text = await metricsOf(t);
    expect(text).toContain('route="/anchor/api/v1/live-rooms/{liveRoomId}"');
    expect(
      metricSample(text, 'http_server_requests_seconds_count', { method: 'GET', route: '/anchor/api/v1/live-rooms/{liveRoomId}' }),
    ).toBeGreaterThanOrEqual(1);
    const bucket = text
      .split('\n')
      .find(
        (line) =>
          line.startsWith('http_server_requests_seconds_bucket{') && line.includes('route="/anchor/api/v1/live-rooms/{liveRoomId}"'),
      );
    expect(bucket).toBeDefined();
    expect(text).toContain('route="/anchor/api/v1/anchors/{anchorId}"');
    expect(text).not.toContain('/anchor/api/v1/live-rooms/123');
    expect(text).not.toContain(`/anchor/api/v1/anchors/${anchorId}"`);
  });

  it('when an unknown route is requested, then http_problems_total{code="ROUTE_NOT_FOUND"} goes up by one', async () => {
    const before = metricSample(await metricsOf(t), 'http_problems_total', { code: 'ROUTE_NOT_FOUND', status: '404' });
    await t.http.get(`/not-here/${Date.now()}`).expect(404);
    const text = await metricsOf(t);
    expect(metricSample(text, 'http_problems_total', { code: 'ROUTE_NOT_FOUND', status: '404' })).toBe(before + 1);
    expect(text).not.toContain('/not-here/');
  });

  it('when a viewer is rate limited, then the 429 RATE_LIMITED problem is counted in http_problems_total too', async () => {
    const limited = await createTestPlatform({ RATE_LIMIT_PER_MINUTE: '1' });
    try {
      const audienceId = 700_000_000 + Math.floor(Math.random() * 99_999_999);
      const viewer = await limited.auth('audience', audienceId);
      const reward = () => ({ traceId: newTraceId('RL'), audienceId, liveRoomId: 1, amount: '1.00' });
      const first = await limited.http.post('/audience/api/v1/recharge').set('Authorization', viewer).send(reward());
      expectProblem(first, 404, 'AUDIENCE_NOT_FOUND');
      const second = await limited.http.post('/audience/api/v1/recharge').set('Authorization', viewer).send(reward());
      expectProblem(second, 429, 'RATE_LIMITED');
      expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const text = await metricsOf(limited);
      expect(metricSample(text, 'http_problems_total', { code: 'AUDIENCE_NOT_FOUND', status: '404' })).toBe(1);
      // Every problem+json answer is counted by its code (STYLE rule 3; the metric's own help text).
      expect(metricSample(text, 'http_problems_total', { code: 'RATE_LIMITED', status: '429' })).toBe(1);
    } finally {
      await limited.close();
    }
  });
});
