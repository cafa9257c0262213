import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { ROLES, type Role } from '../../src/shared/http/auth';
import { createAnchor, createRoom, createTestPlatform, createViewer, newTraceId, startRoom, type TestPlatform } from '../support/platform';
import { OBJECT_CASES, type ObjectCase, type ObjectRequest, type World } from '../support/object-cases';

/**
 * Object-level authorisation of every route, from one table (test/support/object-cases.ts) and the
 * OpenAPI document: the operations come from `/openapi.json` and the roles each accepts from its
 * `x-roles`, which must equal the roles the table gives from API.md; a route added without a table
 * entry fails here. For each operation:
 *  - no token → 401 (public routes answer without one);
 *  - a role the operation does not list → 403;
 *  - each listed role acting on its own object → the success status;
 *  - an anchor's or viewer's token on another anchor's or viewer's object → 403 or 404;
 *  - a malformed id in any path parameter → 400 or 404, never 500.
 * And two input edges every operation shares: an unknown body field → 400, `pageSize` 101 → 400.
 * A call that is refused must not need a fresh world; a call that succeeds gets one, since it may
 * change what it names (delete, disable, close, stop).
 */

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const MALFORMED_IDS = ['abc', '-1', '99999999999999999999'];

interface Operation {
  security?: Array<Record<string, string[]>>;
  'x-roles'?: Role[];
  parameters?: Array<{ name: string; in: string }>;
}

let t: TestPlatform;
let server: Server;
let baseUrl: string;
let operations: Map<string, Operation>;

beforeAll(async () => {
  t = await createTestPlatform();
  server = createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const doc = (await t.http.get('/openapi.json').expect(200)).body as { paths: Record<string, Partial<Record<string, Operation>>> };
  operations = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) operations.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

let worldCounter = 0;

/** Two anchors (the first with a LIVE room holding one reward, and an IDLE room), two viewers. */
async function newWorld(): Promise<World> {
  worldCounter += 1;
  const anchorId = await createAnchor(t, `Owner ${worldCounter}`);
  const otherAnchorId = await createAnchor(t, `Other ${worldCounter}`);
  const roomId = await createRoom(t, anchorId, 'live');
  const idleRoomId = await createRoom(t, anchorId, 'idle');
  const otherRoomId = await createRoom(t, otherAnchorId, 'other');
  await startRoom(t, roomId);
  const viewerId = await createViewer(t, `Viewer ${worldCounter}`);
  const otherViewerId = await createViewer(t, `Other viewer ${worldCounter}`);
  const sent = await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('admin'))
    .send({ traceId: newTraceId('OBJ'), audienceId: viewerId, liveRoomId: roomId, amount: '12.34' })
    .expect(201);
  const reward = sent.body as World['reward'];
  // Money to withdraw: 12.34 + 40.00 settled at 0.5000 is 26.17; a PENDING withdrawal of 10.00 leaves 16.17.
  await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('admin'))
    .send({ traceId: newTraceId('OBJ'), audienceId: viewerId, liveRoomId: roomId, amount: '40.00' })
    .expect(201);
  await t.runSync();
  const withdrawal = await t.http
    .post(`/anchor/api/v1/anchors/${anchorId}/withdrawals`)
    .set('Authorization', await t.auth('anchor', anchorId))
    .send({ amount: '10.00', requestId: newTraceId('OBJ') })
    .expect(201);
  const rate = await t.http
    .post('/finance/api/v1/commission-rates')
    .set('Authorization', await t.auth('admin'))
    .send({ anchorId, rate: '0.6000', effectiveFrom: new Date(Date.now() + 86_400_000).toISOString() })
    .expect(201);
  return {
    anchorId,
    otherAnchorId,
    roomId,
    idleRoomId,
    otherRoomId,
    viewerId,
    otherViewerId,
    reward,
    withdrawalId: (withdrawal.body as { withdrawalId: number }).withdrawalId,
    futureRateId: (rate.body as { rateId: number }).rateId,
  };
}

interface Answer {
  status: number;
  code?: string;
  /** The first item's status, for a case with `itemOk`. */
  item?: number;
}

/** Sends the case's request; a stream is read only up to its status line and then dropped. */
async function send(
  c: ObjectCase,
  w: World,
  authorization: string | null,
  path?: string,
  change?: (r: ObjectRequest) => ObjectRequest,
): Promise<Answer> {
  const request = change ? change(c.request(w)) : c.request(w);
  const search = new URLSearchParams(Object.entries(request.query ?? {}).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const query = search ? `?${search}` : '';
  const headers: Record<string, string> = { accept: '*/*' };
  if (authorization) headers['authorization'] = authorization;
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const abort = new AbortController();
  const res = await fetch(`${baseUrl}${path ?? request.path}${query}`, {
    method: c.method.toUpperCase(),
    headers,
    body: request.body === undefined ? null : JSON.stringify(request.body),
    signal: abort.signal,
  });
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream')) {
    abort.abort();
    return { status: res.status };
  }
  const text = await res.text();
  const body = type.includes('json') && text ? (JSON.parse(text) as { code?: string; results?: Array<{ status: number }> }) : {};
  const answer: Answer = { status: res.status };
  if (body.code !== undefined) answer.code = body.code;
  if (c.itemOk !== undefined && body.results?.[0]) answer.item = body.results[0].status;
  return answer;
}

const bearer = (role: Role, id: number) => t.auth(role, id);

/** The id a token of this role would carry to act on the world's own object. */
function ownIdFor(role: Role, w: World): number {
  if (role === 'anchor') return w.anchorId;
  if (role === 'audience') return w.viewerId;
  return 1;
}

function otherIdFor(owner: 'anchor' | 'audience', w: World): number {
  return owner === 'anchor' ? w.otherAnchorId : w.otherViewerId;
}

/** `/a/{x}/b` with `{x}` replaced by `value`, every other parameter as the case fills it. */
function withParameter(c: ObjectCase, w: World, parameter: string, value: string): string {
  const template = c.path;
  const filled = c.request(w).path;
  const templateParts = template.split('/');
  const filledParts = filled.split('/');
  return templateParts.map((part, i) => (part === `{${parameter}}` ? value : filledParts[i])).join('/');
}

describe('the table and the OpenAPI document', () => {
  it('when the document lists its operations, then every one has an entry in the table and every entry is documented', () => {
    const documented = [...operations.keys()].sort();
    const tabled = OBJECT_CASES.map((c) => `${c.method.toUpperCase()} ${c.path}`).sort();
    expect(tabled).toEqual(documented);
  });
});

describe.each(OBJECT_CASES.map((c) => [`${c.method.toUpperCase()} ${c.path}`, c] as const))('%s', (_name, c) => {
  let shared: World;
  let operation: Operation;
  let roles: Role[];

  beforeAll(async () => {
    shared = await newWorld();
    operation = operations.get(`${c.method.toUpperCase()} ${c.path}`) ?? {};
    roles = operation['x-roles'] ?? [];
  });

  it('when the document is read, then the operation accepts exactly the roles API.md gives it', () => {
    expect([...roles].sort()).toEqual([...c.roles].sort());
  });

  it('when called without a token, then 401 UNAUTHENTICATED (or the success status of a public route)', async () => {
    if (roles.length === 0) {
      const w = c.method === 'get' ? shared : await newWorld();
      expect({ public: await send(c, w, null) }).toEqual({ public: { status: c.ok, ...(c.okCode ? { code: c.okCode } : {}) } });
    } else {
      expect(await send(c, shared, null)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('when a role the operation does not list calls it, even on its own object, then 403 FORBIDDEN', async () => {
    if (roles.length === 0) return;
    const refused: Record<string, Answer> = {};
    const expected: Record<string, Answer> = {};
    for (const role of ROLES.filter((r) => !roles.includes(r))) {
      refused[role] = await send(c, shared, await bearer(role, ownIdFor(role, shared)));
      expected[role] = { status: 403, code: 'FORBIDDEN' };
    }
    expect(refused).toEqual(expected);
  });

  it('when each listed role acts on its own object, then the success status', async () => {
    const answers: Record<string, Answer> = {};
    const expected: Record<string, Answer> = {};
    for (const role of roles.length === 0 ? [] : roles) {
      const w = c.method === 'get' ? shared : await newWorld();
      answers[role] = await send(c, w, await bearer(role, ownIdFor(role, w)));
      expected[role] = { status: c.ok, ...(c.okCode ? { code: c.okCode } : {}), ...(c.itemOk ? { item: c.itemOk } : {}) };
    }
    expect(answers).toEqual(expected);
  });

  it("when an anchor or viewer acts on another's object, then 403 or 404", async () => {
    const owner = c.owner;
    if (owner === null) return;
    const role: Role = owner;
    if (!roles.includes(role)) return;
    const answer = await send(c, shared, await bearer(role, otherIdFor(owner, shared)));
    expect([403, 404]).toContain(c.itemOk === undefined ? answer.status : answer.item);
  });

  it('when a path id is malformed, then 400 or 404, never 500', async () => {
    const parameters = [...c.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
    const role: Role | null = roles.length === 0 ? null : roles.includes('admin') ? 'admin' : (roles[0] as Role);
    const statuses: Record<string, number> = {};
    for (const parameter of parameters) {
      for (const bad of MALFORMED_IDS) {
        const authorization = role ? await bearer(role, ownIdFor(role, shared)) : null;
        const answer = await send(c, shared, authorization, withParameter(c, shared, parameter, bad));
        statuses[`${parameter}=${bad}`] = [400, 404].includes(answer.status) ? 0 : answer.status;
      }
    }
    expect(Object.entries(statuses).filter(([, status]) => status !== 0)).toEqual([]);
  });

  /** A token the operation accepts, acting on the world's own objects (none for a public route). */
  async function allowedAuthorization(): Promise<string | null> {
    const role: Role | null = roles.length === 0 ? null : roles.includes('admin') ? 'admin' : (roles[0] as Role);
    return role ? bearer(role, ownIdFor(role, shared)) : null;
  }

  it('when the body holds a field the operation does not know, then 400 VALIDATION_FAILED naming it', async () => {
    if (c.request(shared).body === undefined) return;
    const answer = await send(c, shared, await allowedAuthorization(), undefined, (r) => ({
      ...r,
      body: { ...(r.body as object), unexpectedField: 1 },
    }));
    expect(answer).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('when a list is asked for pageSize 101, then 400 VALIDATION_FAILED', async () => {
    if (!(operation.parameters ?? []).some((p) => p.in === 'query' && p.name === 'pageSize')) return;
    const answer = await send(c, shared, await allowedAuthorization(), undefined, (r) => ({ ...r, query: { ...r.query, pageSize: 101 } }));
    expect(answer).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });
});
