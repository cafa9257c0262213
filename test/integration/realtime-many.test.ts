import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import { createRealtimeStore } from '../../src/modules/anchor/realtime/realtime.redis';
import { createAnchor, createRoom, createTestPlatform, createViewer, newTraceId, startRoom, type TestPlatform } from '../support/platform';
import { PrivateRedis, waitUntil } from '../support/private-redis';

const UNKNOWN_ROOM = 999_999_996;

interface View {
  liveRoomId: number;
  totalEarnings: string;
  rechargeCount: number;
  source: string;
}

/**
 * 30 rooms of one anchor, two thirds live: rooms 0-9 get rewards, 0-4 are then flushed and 0-2
 * rewarded again (base + pending), so the figures mix DB1's rows and Redis's deltas.
 */
async function thirtyRooms(t: TestPlatform): Promise<number[]> {
  const anchorId = await createAnchor(t);
  const viewers = [await createViewer(t, 'many-a'), await createViewer(t, 'many-b')];
  const rooms: number[] = [];
  for (let i = 0; i < 30; i += 1) rooms.push(await createRoom(t, anchorId, `room ${i}`));
  for (const room of rooms.slice(0, 20)) await startRoom(t, room);
  const auth = await t.auth('service');
  const reward = (room: number, i: number) =>
    t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', auth)
      .send({
        traceId: newTraceId('MANY'),
        audienceId: viewers[i % 2],
        liveRoomId: room,
        amount: `${i + 1}.${String(room % 100).padStart(2, '0')}`,
      })
      .expect(201);
  for (const [i, room] of rooms.slice(0, 10).entries()) await Promise.all([reward(room, i), reward(room, i + 1)]);
  await t.flushRealtime();
  for (const [i, room] of rooms.slice(0, 3).entries()) await reward(room, i + 7);
  return rooms;
}

async function oneByOne(t: TestPlatform, rooms: readonly number[]): Promise<View[]> {
  const views: View[] = [];
  for (const room of rooms) views.push((await t.http.get(`/anchor/api/v1/live-rooms/${room}/realtime`).expect(200)).body as View);
  return views;
}

async function many(t: TestPlatform, ids: readonly number[]): Promise<View[]> {
  return ((await t.http.get(`/anchor/api/v1/live-rooms/realtime?ids=${ids.join(',')}`).expect(200)).body as { items: View[] }).items;
}

/** Every query DB1 receives while `run` runs. */
async function db1Queries(t: TestPlatform, run: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (query: { sql: string }) => seen.push(query.sql);
  t.db1.on('query', listener);
  try {
    await run();
  } finally {
    t.db1.off('query', listener);
  }
  return seen;
}

/** What the platform's Redis connection writes to its socket while `run` runs: one write is one round trip. */
async function redisWrites(client: Redis, run: () => Promise<unknown>): Promise<string[]> {
  const write = jest.spyOn(client.stream, 'write');
  try {
    await run();
    return write.mock.calls.map((call) => String(call[0]));
  } finally {
    write.mockRestore();
  }
}

function scriptCalls(write: string): number {
  return (write.match(/\r\n(evalsha|eval)\r\n/gi) ?? []).length;
}

async function cacheRequests(t: TestPlatform): Promise<{ hit: number; miss: number }> {
  const counter = t.metrics.registry.getSingleMetric('redis_cache_requests_total') as Counter<'result'>;
  const values = (await counter.get()).values;
  const of = (result: string) => values.find((v) => v.labels.result === result)?.value ?? 0;
  return { hit: of('hit'), miss: of('miss') };
}

describe('realtime figures of many rooms, with Redis', () => {
  let t: TestPlatform;
  let rooms: number[];
  let asked: number[];
  beforeAll(async () => {
    t = await createTestPlatform({ REALTIME_FLUSH_THRESHOLD: '1000' });
    rooms = await thirtyRooms(t);
    // A flush that died after its snapshot: room 5's figures include a flushing delta DB1 does not hold.
    await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .send({ traceId: newTraceId('MANY'), audienceId: await createViewer(t, 'many-c'), liveRoomId: rooms[5], amount: '50.00' })
      .expect(201);
    expect(await createRealtimeStore(t.redis.client!, '').snapshot(rooms[5]!, 2)).toMatchObject({ count: 1 });
    // Out of order, with an unknown id in the middle.
    asked = [...rooms.slice(15).reverse(), UNKNOWN_ROOM, ...rooms.slice(0, 15)];
  });
  afterAll(() => t.close());

  it('when no room has a cached base, then one DB1 query, two Redis round trips (read, prime), and the per-room figures in the order asked', async () => {
    await t.redis.client!.del(...rooms.map((id) => `live:room:base:{${id}}`));
    const before = await cacheRequests(t);
    let items: View[] = [];
    let queries: string[] = [];
    const writes = await redisWrites(t.redis.client!, async () => {
      queries = await db1Queries(t, async () => {
        items = await many(t, asked);
      });
    });
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/from `live_room_realtime`/);
    expect(writes).toHaveLength(2);
    expect(writes.map(scriptCalls)).toEqual([31, 30]);
    const after = await cacheRequests(t);
    expect(after.miss - before.miss).toBe(31);
    expect(after.hit - before.hit).toBe(0);

    const known = asked.filter((id) => id !== UNKNOWN_ROOM);
    expect(items.map((i) => i.liveRoomId)).toEqual(known);
    expect(items.every((i) => i.source === 'redis')).toBe(true);
    expect(items).toEqual(await oneByOne(t, known));
    expect(items.find((i) => i.liveRoomId === rooms[5])).toMatchObject({ rechargeCount: 3 });
    expect(items.find((i) => i.liveRoomId === rooms[0])).toMatchObject({ rechargeCount: 3 });
    expect(items.find((i) => i.liveRoomId === rooms[29])).toMatchObject({ rechargeCount: 0, totalEarnings: '0.00' });
  });

  it('when every base is cached, then no DB1 query and one Redis round trip carrying every room', async () => {
    const known = asked.filter((id) => id !== UNKNOWN_ROOM);
    await many(t, known);
    const before = await cacheRequests(t);
    let items: View[] = [];
    let queries: string[] = [];
    const writes = await redisWrites(t.redis.client!, async () => {
      queries = await db1Queries(t, async () => {
        items = await many(t, known);
      });
    });
    expect(queries).toEqual([]);
    expect(writes).toHaveLength(1);
    expect(scriptCalls(writes[0]!)).toBe(30);
    const after = await cacheRequests(t);
    expect(after).toEqual({ hit: before.hit + 30, miss: before.miss });
    expect(items).toEqual(await oneByOne(t, known));
  });

  it('when an unknown id is among cached rooms, then it alone is looked up: one DB1 query, as a single read of it costs', async () => {
    const before = await cacheRequests(t);
    const queries = await db1Queries(t, () => many(t, asked));
    expect(queries).toHaveLength(1);
    expect(await cacheRequests(t)).toEqual({ hit: before.hit + 30, miss: before.miss + 1 });
  });

  it('when the same rooms are read one by one, then each costs its own round trip (the measure above can fail)', async () => {
    const writes = await redisWrites(t.redis.client!, () => oneByOne(t, rooms.slice(0, 10)));
    expect(writes.length).toBeGreaterThanOrEqual(10);
  });

  it('when only unknown ids are asked for, then an empty list', async () => {
    expect(await many(t, [UNKNOWN_ROOM, UNKNOWN_ROOM + 1])).toEqual([]);
  });
});

describe('realtime figures of many rooms, when Redis is down or stalls', () => {
  let t: TestPlatform;
  let redis: PrivateRedis;
  let rooms: number[];
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await createTestPlatform({ REDIS_URL: redis.url, REALTIME_FLUSH_THRESHOLD: '1000' });
    rooms = await thirtyRooms(t);
    // Everything in DB1, so the figures DB1 alone gives are the whole truth.
    await t.flushRealtime();
  });
  afterAll(async () => {
    // Closed with Redis up, as the other fault tests do: closed while it is dead, the platform keeps a handle open a moment longer.
    await redis.restart();
    await waitUntil(() => Promise.resolve(t.redis.isUsable()), 'Redis usable again', 10_000);
    await t.close();
    await redis.dispose();
  });

  /** Σ of each room's stored rewards, as the API shows them. */
  async function truth(ids: readonly number[]): Promise<Array<{ liveRoomId: number; rechargeCount: number; totalEarnings: string }>> {
    const figures = [];
    for (const id of ids) {
      const row = await t.db1('recharge').where({ live_room_id: id }).sum({ s: 'amount' }).count({ n: '*' }).first();
      const fen = Number(row?.['s'] ?? 0);
      figures.push({
        liveRoomId: id,
        rechargeCount: Number(row?.['n']),
        totalEarnings: `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`,
      });
    }
    return figures;
  }

  it('when Redis stalls (frozen), then the failed read falls back to one DB1 query for all rooms', async () => {
    redis.freeze();
    let items: View[] = [];
    let queries: string[] = [];
    try {
      queries = await db1Queries(t, async () => {
        items = await many(t, rooms);
      });
    } finally {
      redis.thaw();
    }
    expect(queries).toHaveLength(1);
    expect(items.map((i) => i.source)).toEqual(rooms.map(() => 'db'));
    expect(items.map(({ liveRoomId, rechargeCount, totalEarnings }) => ({ liveRoomId, rechargeCount, totalEarnings }))).toEqual(
      await truth(rooms),
    );
  });

  it('when Redis is killed, then one DB1 query answers every room with source "db" and the figures = Σ rewards', async () => {
    await redis.kill();
    await waitUntil(() => Promise.resolve(!t.redis.isUsable()), 'Redis unusable');
    const asked = [...rooms].reverse();
    let items: View[] = [];
    const queries = await db1Queries(t, async () => {
      items = await many(t, [UNKNOWN_ROOM, ...asked]);
    });
    expect(queries).toHaveLength(1);
    expect(items.map((i) => i.source)).toEqual(asked.map(() => 'db'));
    expect(items.map(({ liveRoomId, rechargeCount, totalEarnings }) => ({ liveRoomId, rechargeCount, totalEarnings }))).toEqual(
      await truth(asked),
    );
    expect(items).toEqual(await oneByOne(t, asked));
  });
});
