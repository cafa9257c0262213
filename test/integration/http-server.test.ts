import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createHttpServer } from '../../src/shared/http/server';
import { createTestPlatform, type TestPlatform } from '../support/platform';

/**
 * What Node's HTTP parser refuses never reaches a route: a request head that is too large, or
 * bytes that are not HTTP. The service's own server still answers them as problem+json with a
 * trace id, like every other client error, and stores nothing.
 */
let t: TestPlatform;
let server: Server;
let port: number;

beforeAll(async () => {
  t = await createTestPlatform();
  server = createHttpServer(t.app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

/** Sends `bytes` as they are; resolves with the status line, headers and body of the answer once the server closes. */
function exchange(bytes: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => void (received += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = received.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.write(bytes);
  });
}

describe('behind nginx', () => {
  it("when an idle keep-alive socket is closed, then it is after nginx's upstream keepalive_timeout, and headersTimeout outlasts it too", () => {
    const conf = readFileSync(join(__dirname, '..', '..', 'nginx.conf'), 'utf8');
    const upstream = /upstream live_tipping \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    const nginxSeconds = Number(/keepalive_timeout (\d+)s;/.exec(upstream)?.[1]);
    expect(nginxSeconds).toBeGreaterThan(0);
    expect(server.keepAliveTimeout).toBeGreaterThan(nginxSeconds * 1000);
    expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
  });
});

describe('requests the HTTP parser refuses', () => {
  it.each([
    {
      name: 'a request head larger than 16 KiB',
      bytes: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    },
    { name: 'a request line that is not HTTP', bytes: 'HELLO THERE\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
    {
      name: 'a header without a colon',
      bytes: 'GET /health HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    {
      name: 'two Content-Length headers that disagree',
      bytes: 'POST /audience/api/v1/audiences HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
    {
      name: 'a chunked body with a bad chunk size',
      bytes:
        'POST /audience/api/v1/audiences HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      status: 400,
      code: 'MALFORMED_REQUEST',
    },
  ])(
    'when it gets $name, then $status $code as problem+json with the trace id in header and body, and the connection closes',
    async ({ bytes, status, code }) => {
      const before = await t.db1('audience').count({ n: '*' }).first();
      const answer = await exchange(bytes);
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.headers['connection']).toBe('close');
      const problem = JSON.parse(answer.body) as { code: string; status: number; traceId: string };
      expect(problem).toMatchObject({ code, status });
      expect(problem.traceId).toBe(answer.headers['x-trace-id']);
      expect(await t.db1('audience').count({ n: '*' }).first()).toEqual(before);
    },
  );

  it('when a well-formed request follows on a new connection, then it is served as usual', async () => {
    const answer = await exchange('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer.status).toBe(200);
  });
});

describe('a body sent to an operation that takes none', () => {
  it('when a GET of the OpenAPI document (a large answer) carries a body, then it is read and thrown away: 200 within the limit, 413 over it, never a cut connection', async () => {
    // fetch refuses a body on GET: supertest sends one, as a client may.
    const small = await t.http
      .get('/openapi.json')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(1000) }));
    expect(small.status).toBe(200);
    expect(Object.keys(small.body.paths).length).toBeGreaterThan(50);
    const large = await t.http
      .get('/openapi.json')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(1_100_000) }));
    expect({ status: large.status, code: large.body.code }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
  });
});
