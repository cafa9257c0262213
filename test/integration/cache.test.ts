import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { REDIS_KEY_PREFIX, workerRedisUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { PrivateRedis } from '../support/private-redis';

const C = '/cache/api/v1';

let t: TestPlatform;
let admin: string;
/** The worker's Redis db without the prefix: what another application sharing it would see and write. */
let raw: Redis;
let stage: { anchorId: number; roomId: number; viewerIds: number[] };

interface KeyEntry {
  key: string;
  type: string;
  ttl: number;
}

const keyPath = (key: string) => `${C}/keys/${encodeURIComponent(key)}`;

async function reward(viewer: number, amount: string, roomId = stage.roomId): Promise<number> {
  const res = await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('service'))
    .send({ traceId: newTraceId('CA'), audienceId: stage.viewerIds[viewer], liveRoomId: roomId, amount })
    .expect(201);
  return (res.body as { rechargeId: number }).rechargeId;
}

/** Every page of a listing, until the cursor comes back "0". */
async function listAll(pattern: string, count = 100): Promise<{ items: KeyEntry[]; pages: number }> {
  const items: KeyEntry[] = [];
  let cursor = '0';
  let pages = 0;
  do {
    const res = await t.http.get(`${C}/keys`).query({ pattern, count, cursor }).set('Authorization', admin).expect(200);
    const body = res.body as { items: KeyEntry[]; cursor: string };
    items.push(...body.items);
    cursor = body.cursor;
    pages += 1;
    if (pages > 10_000) throw new Error('the scan never ended');
  } while (cursor !== '0');
  return { items, pages };
}

async function figures(roomId = stage.roomId): Promise<{ totalEarnings: string; rechargeCount: number }> {
  return (await t.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200)).body as {
    totalEarnings: string;
    rechargeCount: number;
  };
}

beforeAll(async () => {
  t = await createTestPlatform({ TOP10_CACHE_TTL_MS: '1' });
  admin = await t.auth('admin');
  raw = new Redis(workerRedisUrl(), { lazyConnect: true });
  await raw.connect();
  stage = await liveStage(t, 3);
  await reward(0, '10.00');
  await reward(1, '25.50');
  await reward(0, '4.50');
});
afterAll(async () => {
  await raw.quit();
  await t.close();
});

describe('listing keys', () => {
  it("when a room's keys are listed by pattern, then its realtime keys are there, named without the prefix, with their types and TTLs", async () => {
    const { items } = await listAll(`live:room:*:{${stage.roomId}}`);
    const byKey = new Map(items.map((i) => [i.key, i]));
    expect(byKey.get(`live:room:recharge_count:{${stage.roomId}}`)).toMatchObject({ type: 'string' });
    expect(byKey.get(`live:room:pending_ids:{${stage.roomId}}`)).toMatchObject({ type: 'hash' });
    expect(byKey.get(`live:room:events:{${stage.roomId}}`)).toMatchObject({ type: 'stream' });
    for (const item of items) {
      expect(item.key.endsWith(`{${stage.roomId}}`)).toBe(true);
      expect(item.ttl === -1 || item.ttl > 0).toBe(true);
    }
    // The same keys exist in Redis under the prefix.
    expect(await raw.exists(`${REDIS_KEY_PREFIX}live:room:events:{${stage.roomId}}`)).toBe(1);
  });

  it('when a pattern is given with REDIS_KEY_PREFIX in front, as redis-cli shows keys, then it lists the same keys', async () => {
    const plain = (await listAll(`live:room:*:{${stage.roomId}}`)).items.map((i) => i.key).sort();
    const prefixed = (await listAll(`${REDIS_KEY_PREFIX}live:room:*:{${stage.roomId}}`)).items.map((i) => i.key).sort();
    expect(prefixed).toEqual(plain);
    expect(plain.length).toBeGreaterThanOrEqual(4);
  });

  it("when everything is listed, then another application's keys and this prefix's keys outside the families never show, however many pages", async () => {
    await raw.set('foreign:app:key', 'not ours');
    await raw.set(`${REDIS_KEY_PREFIX}stray:key`, 'under the prefix but no family');
    await raw.set(`t-other-env:live:room:base:{${stage.roomId}}`, 'another environment');
    const { items } = await listAll('*', 50);
    const keys = items.map((i) => i.key);
    expect(keys).toEqual(expect.arrayContaining([`live:room:events:{${stage.roomId}}`]));
    for (const key of keys)
      expect(/^(live:room:|top10:|analytics:|rl:rewards:|reward-sweep:|cron:run:\{|cron:tick:\{)/.test(key)).toBe(true);
    expect(keys.some((k) => k.includes('foreign') || k.includes('stray') || k.includes('other-env'))).toBe(false);
  });

  it('when a small count is asked, then the scan goes page by page, no page holding them all, and the pages together hold every key', async () => {
    const all = new Set((await listAll('live:room:*', 1000)).items.map((i) => i.key));
    const sizes: number[] = [];
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const body = (
        await t.http.get(`${C}/keys`).query({ pattern: 'live:room:*', count: 2, cursor }).set('Authorization', admin).expect(200)
      ).body as { items: KeyEntry[]; cursor: string };
      sizes.push(body.items.length);
      for (const item of body.items) seen.add(item.key);
      cursor = body.cursor;
    } while (cursor !== '0');
    expect(all.size).toBeGreaterThanOrEqual(4);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThan(all.size);
    // Every key is on some page, but for one that expired meanwhile (a cached row lives seconds).
    const missed = [...all].filter((key) => !seen.has(key));
    for (const key of missed) expect({ key, exists: await raw.exists(`${REDIS_KEY_PREFIX}${key}`) }).toEqual({ key, exists: 0 });
  });

  it('when the cursor is beyond what SCAN takes (2^64 - 1), then 400, not Redis’s error', async () => {
    const res = await t.http.get(`${C}/keys`).query({ cursor: '99999999999999999999' }).set('Authorization', admin).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    await t.http.get(`${C}/keys`).query({ cursor: '18446744073709551615', count: 1 }).set('Authorization', admin).expect(200);
  });

  it.each([
    ['session:*', 'another application’s family'],
    ['foreign:app:*', 'a key that exists, but not ours'],
    ['t-other-env:live:room:*', 'another prefix'],
    ['stray:*', 'under our prefix, no family'],
    ['x*', 'no family starts with x'],
  ])('when the pattern is %s (%s), then 400 KEY_OUTSIDE_SERVICE', async (pattern) => {
    const res = await t.http.get(`${C}/keys`).query({ pattern }).set('Authorization', admin).expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'KEY_OUTSIDE_SERVICE', status: 400 });
  });

  it.each([
    [{ count: '0' }, 'count'],
    [{ count: '1001' }, 'count'],
    [{ count: 'ten' }, 'count'],
    [{ cursor: 'abc' }, 'cursor'],
    [{ cursor: '-1' }, 'cursor'],
    [{ pattern: '' }, 'pattern'],
    [{ other: '1' }, 'other'],
  ])('when the query is %o, then 400 VALIDATION_FAILED naming %s', async (query, field) => {
    const res = await t.http.get(`${C}/keys`).query(query).set('Authorization', admin).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(res.body.errors)).toContain(field);
  });
});

describe('one key', () => {
  it("when a room's pending ids are read, then the hash maps each unflushed reward to its amount in fen", async () => {
    const res = await t.http
      .get(keyPath(`live:room:pending_ids:{${stage.roomId}}`))
      .set('Authorization', admin)
      .expect(200);
    const values = Object.values(res.body.value as Record<string, string>).map(Number);
    expect(res.body).toMatchObject({ key: `live:room:pending_ids:{${stage.roomId}}`, type: 'hash', size: 3, truncated: false });
    expect(values.reduce((a, b) => a + b, 0)).toBe(4000);
  });

  it("when a room's event log is read, then it is a stream, newest first, with the reward's fields", async () => {
    const res = await t.http
      .get(keyPath(`live:room:events:{${stage.roomId}}`))
      .set('Authorization', admin)
      .expect(200);
    expect(res.body).toMatchObject({ type: 'stream', size: 3, truncated: false });
    const entries = res.body.value as Array<{ id: string; fields: Record<string, string> }>;
    expect(entries).toHaveLength(3);
    expect(entries[0]?.id.localeCompare(entries[2]?.id ?? '', undefined, { numeric: true })).toBe(1);
  });

  it('when a TOP10 board is read, then it is a sorted set, highest total first, scores in fen', async () => {
    await t.http.get('/audience/api/v1/recharge/top10').query({ liveRoomId: stage.roomId, period: 'all' }).expect(200);
    const res = await t.http
      .get(keyPath(`top10:room:{${stage.roomId}}:all:ever`))
      .set('Authorization', admin)
      .expect(200);
    expect(res.body).toMatchObject({ type: 'zset', size: 2 });
    expect(res.body.value).toEqual([
      { member: String(stage.viewerIds[1]), score: 2550 },
      { member: String(stage.viewerIds[0]), score: 1450 },
    ]);
  });

  it('when a key of another application is asked for, then 400 and it is not read, though it exists', async () => {
    await raw.set('foreign:app:key', 'not ours');
    const res = await t.http.get(keyPath('foreign:app:key')).set('Authorization', admin).expect(400);
    expect(res.body.code).toBe('KEY_OUTSIDE_SERVICE');
    expect(JSON.stringify(res.body)).not.toContain('not ours');
  });

  it('when a key of the families does not exist, then 404 KEY_NOT_FOUND', async () => {
    const res = await t.http.get(keyPath('live:room:base:{999999999}')).set('Authorization', admin).expect(404);
    expect(res.body.code).toBe('KEY_NOT_FOUND');
  });
});

describe('deleting a key', () => {
  it('when an analytics answer is deleted, then 204, it is gone, and a second delete is 404', async () => {
    await t.http.get('/analysis/api/v1/overview').set('Authorization', admin).expect(200);
    const { items } = await listAll('analytics:overview:*');
    const key = items[0]?.key;
    if (!key) throw new Error('the overview answer was not cached');
    expect(items[0]?.ttl).toBeGreaterThan(0);
    await t.http.delete(keyPath(key)).set('Authorization', admin).expect(204);
    expect(await raw.exists(`${REDIS_KEY_PREFIX}${key}`)).toBe(0);
    expect((await t.http.delete(keyPath(key)).set('Authorization', admin).expect(404)).body.code).toBe('KEY_NOT_FOUND');
  });

  it("when a room's cached row is deleted, then the figures read the same: it is loaded again from DB1", async () => {
    await t.flushRealtime();
    const before = await figures();
    const base = `live:room:base:{${stage.roomId}}`;
    if ((await raw.exists(`${REDIS_KEY_PREFIX}${base}`)) === 0) await figures();
    await t.http.delete(keyPath(base)).set('Authorization', admin).expect(204);
    expect(await figures()).toMatchObject({ totalEarnings: before.totalEarnings, rechargeCount: before.rechargeCount });
  });

  it.each(['earnings', 'recharge_count', 'pending_ids', 'flushed_ids', 'meta', 'events'])(
    "when a room's %s key is deleted while it holds something, then 409 KEY_PROTECTED and the key is still there",
    async (part) => {
      await reward(2, '1.00'); // a pending delta again (the test above flushed the room)
      const key = `live:room:${part}:{${stage.roomId}}`;
      expect(await raw.exists(`${REDIS_KEY_PREFIX}${key}`)).toBe(1);
      const res = await t.http.delete(keyPath(key)).set('Authorization', admin).expect(409);
      expect(res.body.code).toBe('KEY_PROTECTED');
      expect(await raw.exists(`${REDIS_KEY_PREFIX}${key}`)).toBe(1);
    },
  );

  it.each(['reward-sweep:cursor', 'cron:run:{finance-sync}', `top10:room:{1}:refunds`])(
    'when %s (a cursor, a lease, a refund count) is deleted, then 409 KEY_PROTECTED and it is still there',
    async (key) => {
      await raw.set(`${REDIS_KEY_PREFIX}${key}`, '7', 'EX', 60, 'NX');
      expect((await t.http.delete(keyPath(key)).set('Authorization', admin).expect(409)).body.code).toBe('KEY_PROTECTED');
      expect(await raw.exists(`${REDIS_KEY_PREFIX}${key}`)).toBe(1);
    },
  );

  it('when one key of a TOP10 board is deleted, then its other key goes with it, and the next read rebuilds the whole board from DB1', async () => {
    const top10 = () => t.http.get('/audience/api/v1/recharge/top10').query({ liveRoomId: stage.roomId, period: 'all' }).expect(200);
    const before = (await top10()).body.items as Array<{ totalAmount: string }>;
    const totals = `top10:room:{${stage.roomId}}:all:ever`;
    expect(await raw.exists(`${REDIS_KEY_PREFIX}${totals}`, `${REDIS_KEY_PREFIX}${totals}:state`)).toBe(2);
    await t.http.delete(keyPath(totals)).set('Authorization', admin).expect(204);
    expect(await raw.exists(`${REDIS_KEY_PREFIX}${totals}`, `${REDIS_KEY_PREFIX}${totals}:state`)).toBe(0);
    // TOP10_CACHE_TTL_MS is 1 ms here: the next read loads the board again.
    await new Promise((r) => setTimeout(r, 5));
    expect((await top10()).body.items).toEqual(before);
    expect(before.length).toBeGreaterThanOrEqual(2);
  });

  it('when a key of another application is deleted, then 400 and it is still there', async () => {
    await raw.set('foreign:app:key', 'not ours');
    expect((await t.http.delete(keyPath('foreign:app:key')).set('Authorization', admin).expect(400)).body.code).toBe('KEY_OUTSIDE_SERVICE');
    expect(await raw.get('foreign:app:key')).toBe('not ours');
  });
});

describe('stats', () => {
  it("when read, then Redis's memory and keyspace are there, and this instance's hit rate is its hits over its lookups", async () => {
    await t.http.get('/analysis/api/v1/distribution').set('Authorization', admin).expect(200);
    await t.http.get('/analysis/api/v1/distribution').set('Authorization', admin).expect(200);
    const res = await t.http.get(`${C}/stats`).set('Authorization', admin).expect(200);
    const body = res.body as {
      redis: { usedMemory: number; version: string };
      keyspace: { db: number; keys: number };
      server: { hits: number; misses: number; hitRate: number | null };
      service: {
        hits: number;
        misses: number;
        hitRate: number;
        caches: Array<{ cache: string; hits: number; misses: number; hitRate: number }>;
      };
    };
    expect(body.redis.usedMemory).toBeGreaterThan(0);
    expect(body.redis.version).toMatch(/^\d+\.\d+/);
    expect(body.keyspace.db).toBe(Number(workerRedisUrl().split('/').pop()));
    expect(body.keyspace.keys).toBeGreaterThanOrEqual(4);
    const analytics = body.service.caches.find((c) => c.cache === 'analytics');
    expect(analytics?.hits).toBeGreaterThanOrEqual(1);
    expect(analytics?.misses).toBeGreaterThanOrEqual(1);
    const hits = body.service.caches.reduce((sum, c) => sum + c.hits, 0);
    const misses = body.service.caches.reduce((sum, c) => sum + c.misses, 0);
    expect(body.service).toMatchObject({ hits, misses });
    expect(body.service.hitRate).toBeCloseTo(hits / (hits + misses), 10);
  });
});

describe('rebuilding a room', () => {
  it("when a room's cached row and boards are wrong in Redis, then the rebuild makes its figures and TOP10s what DB1 holds again, and loses no pending reward", async () => {
    const room = await liveStage(t, 2);
    stage = { ...stage, roomId: room.roomId, viewerIds: room.viewerIds };
    await reward(0, '3.00');
    await reward(1, '8.00');
    await t.flushRealtime();
    await reward(0, '6.00'); // pending in Redis at the rebuild
    await t.http.get('/audience/api/v1/recharge/top10').query({ liveRoomId: room.roomId, period: 'day' }).expect(200);
    await figures(room.roomId);
    // Corrupt what Redis caches: the DB1 row's copy and the day's board.
    const base = `${REDIS_KEY_PREFIX}live:room:base:{${room.roomId}}`;
    expect(await raw.exists(base)).toBe(1);
    await raw.hset(base, 'earnings', 999_999);
    const boards = await raw.keys(`${REDIS_KEY_PREFIX}top10:room:{${room.roomId}}:day:*`);
    const dayBoard = boards.find((k) => !k.endsWith(':state'));
    if (!dayBoard) throw new Error('no day board in Redis');
    await raw.zadd(dayBoard, 777_777, String(room.viewerIds[1]));
    expect((await figures(room.roomId)).totalEarnings).not.toBe('17.00');

    const res = await t.http.post(`${C}/rebuild/live-rooms/${room.roomId}`).set('Authorization', admin).expect(200);
    expect(res.body).toMatchObject({ liveRoomId: room.roomId, realtime: { totalEarnings: '17.00', rechargeCount: 3 } });
    const rebuilt = res.body.boards as Array<{ period: string; items: Array<{ totalAmount: string }> }>;
    expect(rebuilt.map((b) => b.period)).toEqual(['day', 'week', 'month', 'all']);
    for (const board of rebuilt) expect(board.items.map((i) => i.totalAmount)).toEqual(['9.00', '8.00']);
    // The pending reward was flushed into DB1, not dropped; the figures and the board read right from now on.
    const [row] = await t.db1('live_room_realtime').where({ live_room_id: room.roomId }).select('total_earnings', 'recharge_count');
    expect({ earnings: Number(row?.total_earnings), count: Number(row?.recharge_count) }).toEqual({ earnings: 1700, count: 3 });
    expect(await figures(room.roomId)).toMatchObject({ totalEarnings: '17.00', rechargeCount: 3 });
    const day = await t.http.get('/audience/api/v1/recharge/top10').query({ liveRoomId: room.roomId, period: 'day' }).expect(200);
    expect((day.body.items as Array<{ totalAmount: string }>).map((i) => i.totalAmount)).toEqual(['9.00', '8.00']);
  });

  it('when the room does not exist, then 404 LIVE_ROOM_NOT_FOUND; a malformed id is 400', async () => {
    expect((await t.http.post(`${C}/rebuild/live-rooms/999999999`).set('Authorization', admin).expect(404)).body.code).toBe(
      'LIVE_ROOM_NOT_FOUND',
    );
    expect((await t.http.post(`${C}/rebuild/live-rooms/abc`).set('Authorization', admin).expect(400)).body.code).toBe('VALIDATION_FAILED');
  });

  it('when a viewer or an anchor calls the cache endpoints, then 403; without a token, 401', async () => {
    await t.http
      .get(`${C}/stats`)
      .set('Authorization', await t.auth('anchor', stage.anchorId))
      .expect(403);
    await t.http
      .post(`${C}/rebuild/live-rooms/${stage.roomId}`)
      .set('Authorization', await t.auth('audience', 1))
      .expect(403);
    await t.http.get(`${C}/keys`).expect(401);
  });
});

describe('with an empty REDIS_KEY_PREFIX', () => {
  it("when another application keeps keys in the same database, then its rate-limit and cron keys are still out of reach, only the service's own names are", async () => {
    const redis = await PrivateRedis.start();
    const p = await createTestPlatform({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: '' });
    const other = new Redis(redis.url);
    try {
      const auth = await p.auth('admin');
      await other.mset('rl:login:alice', '3', 'cron:backup', 'nightly', 'live:room:base:{5}', 'ours-looking');
      const keys = (
        await p.http.get(`${C}/keys`).query({ pattern: '*', count: 1000 }).set('Authorization', auth).expect(200)
      ).body.items.map((i: KeyEntry) => i.key);
      expect(keys).toContain('live:room:base:{5}');
      expect(keys).not.toContain('rl:login:alice');
      expect(keys).not.toContain('cron:backup');
      for (const key of ['rl:login:alice', 'cron:backup'])
        expect((await p.http.get(keyPath(key)).set('Authorization', auth).expect(400)).body.code).toBe('KEY_OUTSIDE_SERVICE');
    } finally {
      other.disconnect();
      await p.close();
      await redis.dispose();
    }
  });
});

describe('without a Redis that answers', () => {
  it('when Redis is killed, then every cache endpoint answers 503 DEPENDENCY_UNAVAILABLE and the cache health is DOWN; back up, they answer again', async () => {
    const redis = await PrivateRedis.start();
    const p = await createTestPlatform({ REDIS_URL: redis.url });
    try {
      const auth = await p.auth('admin');
      const room = await liveStage(p, 1);
      await p.http.get(`${C}/keys`).set('Authorization', auth).expect(200);
      // Frozen: Redis looks usable until a command times out; that command is answered 503 too, not 500.
      redis.freeze();
      const frozen = await p.http.get(`${C}/keys`).set('Authorization', auth);
      redis.thaw();
      expect({ status: frozen.status, code: frozen.body.code }).toEqual({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
      await redis.kill();
      for (const call of [
        p.http.get(`${C}/keys`),
        p.http.get(keyPath('live:room:base:{1}')),
        p.http.delete(keyPath('analytics:x')),
        p.http.get(`${C}/stats`),
        p.http.post(`${C}/rebuild/live-rooms/${room.roomId}`),
      ]) {
        const res = await call.set('Authorization', auth).expect(503);
        expect(res.body.code).toBe('DEPENDENCY_UNAVAILABLE');
      }
      expect((await p.http.get('/cache/actuator/health').expect(503)).body.status).toBe('DOWN');
      await redis.restart();
      const deadline = Date.now() + 10_000;
      while (!p.redis.isUsable() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await p.http.get(`${C}/stats`).set('Authorization', auth).expect(200);
    } finally {
      await p.close();
      await redis.dispose();
    }
  });
});
