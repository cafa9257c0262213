import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, UnsecuredJWT } from 'jose';
import type { Response } from 'supertest';
import { ROLES, type Role } from '../../src/shared/http/auth';
import {
  createAnchor,
  createRoom,
  createTestPlatform,
  createViewer,
  newTraceId,
  startRoom,
  TEST_JWT_SECRET,
  type TestPlatform,
} from '../support/platform';
import { readingStreamsHeadersOnly } from '../support/stream-safe';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(async () => {
  await t.close();
});

/** Records a test makes for itself: an anchor with one IDLE and one LIVE room, and a viewer. */
interface Stage {
  anchorId: number;
  idleRoomId: number;
  liveRoomId: number;
  viewerId: number;
}

async function stage(): Promise<Stage> {
  const anchorId = await createAnchor(t, 'Auth anchor');
  const idleRoomId = await createRoom(t, anchorId, 'idle');
  const liveRoomId = await createRoom(t, anchorId, 'live');
  await startRoom(t, liveRoomId);
  const viewerId = await createViewer(t, 'Auth viewer');
  return { anchorId, idleRoomId, liveRoomId, viewerId };
}

interface ProtectedRoute {
  method: 'get' | 'post';
  /** The documented template, as mounted. */
  template: string;
  /** Roles the API contract lets through; every other role gets 403. */
  allowed: readonly Role[];
  path(s: Stage): string;
  body?(s: Stage): object;
  /** The id a token of `role` would act as when it is "its own" record, so only the role decides. */
  ownId(s: Stage, role: Role): number;
}

const ownAnchor = (s: Stage) => s.anchorId;
const ownViewer = (s: Stage, role: Role) => (role === 'anchor' ? s.anchorId : s.viewerId);
const reward = (s: Stage) => ({ traceId: newTraceId('AUTH'), audienceId: s.viewerId, liveRoomId: s.liveRoomId, amount: '1.00' });

/** Every protected route mounted today, with the roles API.md gives it. */
const PROTECTED: ProtectedRoute[] = [
  {
    method: 'post',
    template: '/anchor/api/v1/anchors',
    allowed: ['admin'],
    path: () => '/anchor/api/v1/anchors',
    body: () => ({ name: 'Intruder' }),
    ownId: ownAnchor,
  },
  {
    method: 'get',
    template: '/anchor/api/v1/anchors/{anchorId}',
    allowed: ['admin', 'anchor'],
    path: (s) => `/anchor/api/v1/anchors/${s.anchorId}`,
    ownId: ownAnchor,
  },
  {
    method: 'post',
    template: '/anchor/api/v1/live-rooms',
    allowed: ['admin', 'anchor'],
    path: () => '/anchor/api/v1/live-rooms',
    body: (s) => ({ anchorId: s.anchorId, title: 'Intruder room' }),
    ownId: ownAnchor,
  },
  {
    method: 'post',
    template: '/anchor/api/v1/live-rooms/{liveRoomId}/start',
    allowed: ['admin', 'anchor'],
    path: (s) => `/anchor/api/v1/live-rooms/${s.idleRoomId}/start`,
    ownId: ownAnchor,
  },
  {
    method: 'post',
    template: '/anchor/api/v1/live-rooms/{liveRoomId}/stop',
    allowed: ['admin', 'anchor'],
    path: (s) => `/anchor/api/v1/live-rooms/${s.liveRoomId}/stop`,
    ownId: ownAnchor,
  },
  {
    method: 'post',
    template: '/audience/api/v1/audiences',
    allowed: ['admin', 'service'],
    path: () => '/audience/api/v1/audiences',
    body: () => ({ nickname: 'Intruder' }),
    ownId: ownViewer,
  },
  {
    method: 'get',
    template: '/audience/api/v1/audiences/{audienceId}',
    allowed: ['admin', 'service', 'audience'],
    path: (s) => `/audience/api/v1/audiences/${s.viewerId}`,
    ownId: ownViewer,
  },
  {
    method: 'get',
    template: '/audience/api/v1/audiences/{audienceId}/consumption',
    allowed: ['admin', 'service', 'audience'],
    path: (s) => `/audience/api/v1/audiences/${s.viewerId}/consumption`,
    ownId: ownViewer,
  },
  {
    method: 'post',
    template: '/audience/api/v1/recharge',
    allowed: ['admin', 'service', 'audience'],
    path: () => '/audience/api/v1/recharge',
    body: reward,
    ownId: ownViewer,
  },
  {
    method: 'post',
    template: '/audience/api/v1/recharge/batch',
    allowed: ['admin', 'service', 'audience'],
    path: () => '/audience/api/v1/recharge/batch',
    body: (s) => ({ items: [reward(s)] }),
    ownId: ownViewer,
  },
  {
    method: 'get',
    template: '/audience/api/v1/recharge/by-trace/{traceId}',
    allowed: ['admin', 'service', 'audience'],
    path: () => `/audience/api/v1/recharge/by-trace/${newTraceId('NONE')}`,
    ownId: ownViewer,
  },
  {
    method: 'get',
    template: '/audience/api/v1/recharge/{rechargeId}',
    allowed: ['admin', 'service', 'audience'],
    path: () => '/audience/api/v1/recharge/999999999',
    ownId: ownViewer,
  },
  {
    method: 'post',
    template: '/audience/api/v1/sync/trigger',
    allowed: ['admin'],
    path: () => '/audience/api/v1/sync/trigger',
    ownId: ownAnchor,
  },
  {
    method: 'post',
    template: '/anchor/api/v1/live-rooms/realtime/reward',
    allowed: ['internal'],
    path: () => '/anchor/api/v1/live-rooms/realtime/reward',
    body: (s) => ({
      rechargeId: 990_000_000 + s.viewerId,
      traceId: newTraceId('AUTH'),
      liveRoomId: s.liveRoomId,
      audienceId: s.viewerId,
      amount: '1.00',
    }),
    ownId: ownAnchor,
  },
  {
    method: 'post',
    template: '/anchor/api/v1/live-rooms/{liveRoomId}/realtime/flush',
    allowed: ['admin'],
    path: (s) => `/anchor/api/v1/live-rooms/${s.liveRoomId}/realtime/flush`,
    ownId: ownAnchor,
  },
  {
    method: 'post',
    template: '/finance/api/v1/recharge/batch-sync',
    allowed: ['internal'],
    path: () => '/finance/api/v1/recharge/batch-sync',
    body: (s) => ({
      batchId: newTraceId('AUTHB'),
      records: [
        {
          rechargeId: 980_000_000 + s.viewerId,
          traceId: newTraceId('AUTH'),
          anchorId: s.anchorId,
          liveRoomId: s.liveRoomId,
          audienceId: s.viewerId,
          amount: '1.00',
          createdAt: new Date().toISOString(),
        },
      ],
    }),
    ownId: ownAnchor,
  },
  {
    method: 'post',
    template: '/finance/api/v1/commission-rates',
    allowed: ['admin'],
    path: () => '/finance/api/v1/commission-rates',
    body: (s) => ({ anchorId: s.anchorId, rate: '0.6000', effectiveFrom: new Date(Date.now() + 86_400_000).toISOString() }),
    ownId: ownAnchor,
  },
  {
    method: 'get',
    template: '/finance/api/v1/balances/{anchorId}',
    allowed: ['admin', 'anchor'],
    path: (s) => `/finance/api/v1/balances/${s.anchorId}`,
    ownId: ownAnchor,
  },
];

const key = (method: string, template: string) => `${method.toUpperCase()} ${template}`;

/** What a rejected call must leave untouched: row counts, plus the stage rooms' states. */
async function snapshot(s: Stage) {
  const counts: Record<string, number> = {};
  for (const table of ['anchor', 'live_room', 'live_session', 'audience', 'recharge', 'live_room_applied_reward']) {
    const row = await t.db1(table).count({ n: '*' }).first();
    counts[table] = Number(row?.['n']);
  }
  const pending = await t.db1('recharge').where({ sync_status: 'PENDING' }).count({ n: '*' }).first();
  for (const table of ['commission_rate', 'anchor_balance', 'balance_ledger', 'settlement', 'settlement_detail']) {
    const row = await t.db2(table).count({ n: '*' }).first();
    counts[`db2.${table}`] = Number(row?.['n']);
  }
  const rooms = await t
    .db1('live_room')
    .whereIn('id', [s.idleRoomId, s.liveRoomId])
    .orderBy('id')
    .select('id', 'status', 'current_session_id');
  return { counts, pendingSync: Number(pending?.['n']), rooms };
}

function send(r: ProtectedRoute, s: Stage, authorization: string | undefined) {
  const call = t.http[r.method](r.path(s));
  if (authorization !== undefined) void call.set('Authorization', authorization);
  return r.body ? call.send(r.body(s)) : call;
}

function expectProblem(res: Response, status: number, code: string, label: string): void {
  expect({ label, status: res.status, code: res.body?.code }).toEqual({ label, status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.traceId).toBe(res.headers['x-trace-id']);
}

/** Authorization headers that must never get past authentication, built once. */
let badAuthorizations: Array<[name: string, header: string | undefined]>;

beforeAll(async () => {
  const secret = new TextEncoder().encode(TEST_JWT_SECRET);
  const wrongSecret = new TextEncoder().encode('another-secret-0123456789-0123456789-xyz');
  const now = Math.floor(Date.now() / 1000);
  const hs256 = (claims: Record<string, unknown>, sub: string, keyBytes = secret) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuedAt().sign(keyBytes);
  badAuthorizations = [
    ['no header', undefined],
    ['Basic scheme', 'Basic x'],
    ['Bearer without token', 'Bearer'],
    ['two-part token', 'Bearer a.b'],
    ['garbage token', 'Bearer aaa.bbb.ccc'],
    ['wrong secret', `Bearer ${await hs256({ role: 'admin' }, '1', wrongSecret)}`],
    ['expired (platform signer, negative ttl)', `Bearer ${await t.tokens.sign({ role: 'admin', id: 1 }, -60)}`],
    [
      'expired (jose, past exp)',
      `Bearer ${await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('1')
        .setIssuedAt(now - 7200)
        .setExpirationTime(now - 3600)
        .sign(secret)}`,
    ],
    [
      'not yet valid (nbf in the future)',
      `Bearer ${await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('1')
        .setNotBefore(now + 3600)
        .sign(secret)}`,
    ],
    ['alg none', `Bearer ${new UnsecuredJWT({ role: 'admin' }).setSubject('1').setIssuedAt().encode()}`],
    [
      'HS512 with the right secret',
      `Bearer ${await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS512' }).setSubject('1').sign(secret)}`,
    ],
    ['unknown role', `Bearer ${await hs256({ role: 'root' }, '1')}`],
    ['no role', `Bearer ${await hs256({}, '1')}`],
    ['non-numeric subject', `Bearer ${await hs256({ role: 'admin' }, 'alice')}`],
  ];
});

// Every route's roles, from API.md, are checked by test/integration/object-authorization.test.ts
// (one table, driven by the OpenAPI document); this matrix adds what a refused call must leave
// untouched, for the routes that write money, rewards and rooms.
describe('route coverage', () => {
  it('when the platform mounts its routes, then each route of this matrix is one of them, protected', () => {
    const mounted = t.modules.flatMap((m) =>
      m.routes.flatMap((group) => group.routes.filter((r) => r.access !== 'public').map((r) => key(r.method, `${group.prefix}${r.path}`))),
    );
    expect(new Set(mounted).size).toBe(mounted.length);
    expect(PROTECTED.map((r) => key(r.method, r.template)).filter((k) => !mounted.includes(k))).toEqual([]);
  });
});

describe('401 UNAUTHENTICATED', () => {
  it.each(PROTECTED.map((r) => [key(r.method, r.template), r] as const))(
    'when %s is called without a valid bearer token, then 401 with WWW-Authenticate: Bearer and nothing is written',
    async (_name, r) => {
      const s = await stage();
      const before = await snapshot(s);
      for (const [name, header] of badAuthorizations) {
        const res = await send(r, s, header);
        expectProblem(res, 401, 'UNAUTHENTICATED', `${key(r.method, r.template)} with ${name}`);
        expect({ name, challenge: res.headers['www-authenticate'] }).toEqual({ name, challenge: 'Bearer' });
      }
      expect(await snapshot(s)).toEqual(before);
    },
  );

  it('when the token is missing and the body is invalid too, then 401 comes before 400 (token before body shape)', async () => {
    const before = await t.db1('anchor').count({ n: '*' }).first();
    const res = await t.http.post('/anchor/api/v1/anchors').send({ name: '', extra: true });
    expectProblem(res, 401, 'UNAUTHENTICATED', 'anchors without token');
    expect(await t.db1('anchor').count({ n: '*' }).first()).toEqual(before);
  });
});

describe('the authorization scheme', () => {
  it('when "Bearer" is written in another letter case, then the token is still accepted (the scheme name is case-insensitive)', async () => {
    const anchorId = await createAnchor(t, 'Case');
    const token = await t.token('admin');
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const res = await t.http.get(`/anchor/api/v1/anchors/${anchorId}`).set('Authorization', `${scheme} ${token}`);
      expect({ scheme, status: res.status }).toEqual({ scheme, status: 200 });
    }
  });
});

describe('403 FORBIDDEN by role', () => {
  it.each(PROTECTED.map((r) => [key(r.method, r.template), r] as const))(
    'when %s is called by a role it does not allow, then 403 FORBIDDEN and nothing is written',
    async (_name, r) => {
      const s = await stage();
      const before = await snapshot(s);
      const refused = ROLES.filter((role) => !r.allowed.includes(role));
      expect(refused.length).toBeGreaterThan(0);
      for (const role of refused) {
        const res = await send(r, s, await t.auth(role, r.ownId(s, role)));
        expectProblem(res, 403, 'FORBIDDEN', `${key(r.method, r.template)} as ${role}`);
      }
      expect(await snapshot(s)).toEqual(before);
    },
  );

  it.each(PROTECTED.map((r) => [key(r.method, r.template), r] as const))(
    'when %s is called by an allowed role on its own id, then it gets past authorization and is answered without a 5xx',
    async (_name, r) => {
      const s = await stage();
      for (const role of r.allowed) {
        const res = await send(r, s, await t.auth(role, r.ownId(s, role)));
        expect({ role, status: res.status, rejected: res.status === 401 || res.status === 403, serverError: res.status >= 500 }).toEqual({
          role,
          status: res.status,
          rejected: false,
          serverError: false,
        });
      }
    },
  );

  it('when the role is wrong and the body is invalid too, then 403 comes before 400 (role before body shape)', async () => {
    const before = await t.db1('anchor').count({ n: '*' }).first();
    const res = await t.http
      .post('/anchor/api/v1/anchors')
      .set('Authorization', await t.auth('service'))
      .send({ name: '', extra: true });
    expectProblem(res, 403, 'FORBIDDEN', 'anchors as service with a bad body');
    expect(await t.db1('anchor').count({ n: '*' }).first()).toEqual(before);
  });
});

describe("403 FORBIDDEN on someone else's id", () => {
  it('when an anchor reads another anchor, then 403; itself, then 200', async () => {
    const s = await stage();
    const otherAnchorId = await createAnchor(t, 'Other');
    const res = await t.http.get(`/anchor/api/v1/anchors/${otherAnchorId}`).set('Authorization', await t.auth('anchor', s.anchorId));
    expectProblem(res, 403, 'FORBIDDEN', 'anchor reads another anchor');
    await t.http
      .get(`/anchor/api/v1/anchors/${s.anchorId}`)
      .set('Authorization', await t.auth('anchor', s.anchorId))
      .expect(200);
  });

  it('when an anchor creates a room for another anchor, then 403 and no room is stored', async () => {
    const s = await stage();
    const otherAnchorId = await createAnchor(t, 'Other');
    const res = await t.http
      .post('/anchor/api/v1/live-rooms')
      .set('Authorization', await t.auth('anchor', s.anchorId))
      .send({ anchorId: otherAnchorId, title: 'Not mine' });
    expectProblem(res, 403, 'FORBIDDEN', 'anchor creates a room for another');
    expect(await t.db1('live_room').where({ anchor_id: otherAnchorId })).toHaveLength(0);
  });

  it("when an anchor starts or stops another anchor's room, then 403 and the rooms keep their state and sessions", async () => {
    const s = await stage();
    const intruderId = await createAnchor(t, 'Intruder');
    const before = await snapshot(s);
    const intruder = await t.auth('anchor', intruderId);
    expectProblem(
      await t.http.post(`/anchor/api/v1/live-rooms/${s.idleRoomId}/start`).set('Authorization', intruder),
      403,
      'FORBIDDEN',
      'start',
    );
    expectProblem(
      await t.http.post(`/anchor/api/v1/live-rooms/${s.liveRoomId}/stop`).set('Authorization', intruder),
      403,
      'FORBIDDEN',
      'stop',
    );
    expect(await snapshot(s)).toEqual(before);
    expect(before.rooms.map((r: { status: string }) => r.status)).toEqual(['IDLE', 'LIVE']);
  });

  it('when a viewer reads another viewer or their consumption, then 403; its own, then 200', async () => {
    const s = await stage();
    const otherViewerId = await createViewer(t, 'Other viewer');
    const viewer = await t.auth('audience', s.viewerId);
    expectProblem(await t.http.get(`/audience/api/v1/audiences/${otherViewerId}`).set('Authorization', viewer), 403, 'FORBIDDEN', 'viewer');
    expectProblem(
      await t.http.get(`/audience/api/v1/audiences/${otherViewerId}/consumption`).set('Authorization', viewer),
      403,
      'FORBIDDEN',
      'consumption',
    );
    const own = await t.http.get(`/audience/api/v1/audiences/${s.viewerId}`).set('Authorization', viewer).expect(200);
    expect(own.body.audienceId).toBe(s.viewerId);
  });

  it('when an anchor token carries a viewer id, then it still may not read that viewer (ids are per role)', async () => {
    const s = await stage();
    const res = await t.http.get(`/audience/api/v1/audiences/${s.viewerId}`).set('Authorization', await t.auth('anchor', s.viewerId));
    expectProblem(res, 403, 'FORBIDDEN', 'anchor token with the viewer id');
  });
});

describe('the service role', () => {
  it('when service reads any viewer, then 200; when it creates an anchor or starts a room, then 403 and nothing changes', async () => {
    const s = await stage();
    const service = await t.auth('service', 424242);
    const viewer = await t.http.get(`/audience/api/v1/audiences/${s.viewerId}`).set('Authorization', service).expect(200);
    expect(viewer.body).toMatchObject({ audienceId: s.viewerId, nickname: 'Auth viewer' });

    const before = await snapshot(s);
    expectProblem(
      await t.http.post('/anchor/api/v1/anchors').set('Authorization', service).send({ name: 'By service' }),
      403,
      'FORBIDDEN',
      'service creates anchor',
    );
    expectProblem(
      await t.http.post(`/anchor/api/v1/live-rooms/${s.idleRoomId}/start`).set('Authorization', service),
      403,
      'FORBIDDEN',
      'service starts room',
    );
    expect(await snapshot(s)).toEqual(before);
  });

  it('when service creates a viewer, then 201 and the viewer is stored', async () => {
    const res = await t.http
      .post('/audience/api/v1/audiences')
      .set('Authorization', await t.auth('service'))
      .send({ nickname: 'Made by service' })
      .expect(201);
    expect(await t.db1('audience').where({ id: res.body.audienceId, nickname: 'Made by service' })).toHaveLength(1);
  });
});

describe('public routes', () => {
  it('when a live room, /health or /openapi.json is read without a token, then 200', async () => {
    const s = await stage();
    const room = await t.http.get(`/anchor/api/v1/live-rooms/${s.liveRoomId}`).expect(200);
    expect(room.body).toMatchObject({ liveRoomId: s.liveRoomId, anchorId: s.anchorId, status: 'LIVE' });
    expect((await t.http.get('/health').expect(200)).body.status).toBe('UP');
    expect((await t.http.get('/openapi.json').expect(200)).body.openapi).toMatch(/^3\.1\./);
    expect((await t.http.get('/actuator/prometheus').expect(200)).text).toContain('http_server_requests_seconds');
  });

  it('when any public route is called without a token, then it never answers 401, 403 or a 5xx', async () => {
    const s = await stage();
    const publicPaths = [
      ...t.modules.flatMap((m) => (m.health ? [m.health.path] : [])),
      ...t.modules.flatMap((m) =>
        m.routes.flatMap((group) =>
          group.routes
            .filter((r) => r.access === 'public')
            .map((r) => `${group.prefix}${r.path}`.replace(/\{[^}]+\}/g, String(s.liveRoomId))),
        ),
      ),
    ];
    expect(publicPaths).toContain(`/anchor/api/v1/live-rooms/${s.liveRoomId}`);
    for (const path of publicPaths) {
      const res = await readingStreamsHeadersOnly(t.http.get(path));
      expect({ path, status: res.status, rejected: res.status === 401 || res.status === 403, serverError: res.status >= 500 }).toEqual({
        path,
        status: res.status,
        rejected: false,
        serverError: false,
      });
    }
  });
});

describe('internal endpoints', () => {
  it('when a path is spelled in another letter case, then it is not routed (the edge rules in nginx.conf rely on it)', async () => {
    const internal = await t.auth('internal');
    for (const [method, path] of [
      ['post', '/ANCHOR/api/v1/live-rooms/realtime/reward'],
      ['post', '/finance/api/v1/recharge/BATCH-SYNC'],
      ['get', '/ACTUATOR/prometheus'],
    ] as const) {
      const res = await t.http[method](path).set('Authorization', internal).send({});
      expectProblem(res, 404, 'ROUTE_NOT_FOUND', `${method} ${path}`);
    }
  });
});
