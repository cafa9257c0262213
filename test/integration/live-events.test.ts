import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { connect } from 'node:net';
import type { AnchorModule } from '../../src/modules/anchor';
import { eventChannel, roomKeys } from '../../src/modules/anchor/realtime/realtime.redis';
import { REDIS_KEY_PREFIX, workerRedisUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { PrivateRedis, waitUntil } from '../support/private-redis';
import { listen, SseClient } from '../support/sse-client';

const UNKNOWN_ROOM = 999_999_993;

type Listening = Awaited<ReturnType<typeof listen>>;

/** A platform served over real HTTP on an ephemeral port (event streams need a real socket). */
async function servedPlatform(env: Record<string, string> = {}): Promise<{ t: TestPlatform; http: Listening }> {
  const t = await createTestPlatform({ LIVE_EVENTS_HEARTBEAT_MS: '15000', ...env });
  return { t, http: await listen(t.app) };
}

async function stop(p: { t: TestPlatform; http: Listening }): Promise<void> {
  await p.http.close();
  await p.t.close();
}

const streamPath = (roomId: number | string) => `/anchor/api/v1/live-rooms/${roomId}/realtime/stream`;

async function reward(t: TestPlatform, roomId: number, audienceId: number, amount: string, traceId = newTraceId('SSE')): Promise<number> {
  const res = await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('service'))
    .send({ traceId, audienceId, liveRoomId: roomId, amount })
    .expect(201);
  return (res.body as { rechargeId: number }).rechargeId;
}

async function figures(t: TestPlatform, roomId: number): Promise<{ totalEarnings: string; rechargeCount: number }> {
  return (await t.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200)).body as {
    totalEarnings: string;
    rechargeCount: number;
  };
}

const anchorModule = (t: TestPlatform) => t.modules.find((m) => m.name === 'anchor') as AnchorModule;

describe('live-room event stream, one instance with Redis', () => {
  let p: { t: TestPlatform; http: Listening };
  const clients: SseClient[] = [];
  const open = async (roomId: number | string, headers: Record<string, string> = {}) => {
    const client = await SseClient.open(p.http.port, streamPath(roomId), headers);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    p = await servedPlatform();
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => stop(p));

  it('when rewards are sent, then each is one event in order with the room’s exact figures after it, and the SSE headers', async () => {
    const { roomId, viewerIds } = await liveStage(p.t, 2);
    const client = await open(roomId);
    expect(client.status).toBe(200);
    expect(client.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.response.headers['cache-control']).toBe('no-cache');
    expect(client.response.headers['x-accel-buffering']).toBe('no');
    await client.until(() => client.comments.includes('stream open'), 'the opening comment');

    const ids = [];
    for (const [i, amount] of ['1.50', '20.00', '0.01'].entries()) ids.push(await reward(p.t, roomId, viewerIds[i % 2]!, amount));
    await client.waitForEvents(3);
    const events = client.rewards();
    expect(events.map((e) => e.id)).toEqual([1, 2, 3]);
    expect(events.map((e) => e.data)).toEqual([
      expect.objectContaining({
        rechargeId: ids[0],
        audienceId: viewerIds[0],
        nickname: 'viewer-0',
        amount: '1.50',
        totalEarnings: '1.50',
        rechargeCount: 1,
      }),
      expect.objectContaining({
        rechargeId: ids[1],
        audienceId: viewerIds[1],
        nickname: 'viewer-1',
        amount: '20.00',
        totalEarnings: '21.50',
        rechargeCount: 2,
      }),
      expect.objectContaining({
        rechargeId: ids[2],
        audienceId: viewerIds[0],
        nickname: 'viewer-0',
        amount: '0.01',
        totalEarnings: '21.51',
        rechargeCount: 3,
      }),
    ]);
    for (const e of events)
      expect(Object.keys(e.data).sort()).toEqual([
        'amount',
        'audienceId',
        'createdAt',
        'nickname',
        'rechargeCount',
        'rechargeId',
        'totalEarnings',
      ]);
    expect(Date.parse(events[2]!.data['createdAt'] as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(await figures(p.t, roomId)).toMatchObject({ totalEarnings: '21.51', rechargeCount: 3 });
  });

  it('when the room was flushed to DB1 before, then the ids and figures go on from DB1’s figures (the base is read and cached by the apply)', async () => {
    const { roomId, viewerIds } = await liveStage(p.t, 1);
    await reward(p.t, roomId, viewerIds[0]!, '5.00');
    await reward(p.t, roomId, viewerIds[0]!, '5.00');
    await p.t.flushRealtime();
    await p.t.redis.client!.del(roomKeys(roomId).base);
    const client = await open(roomId);
    await reward(p.t, roomId, viewerIds[0]!, '2.25');
    await client.waitForEvents(1);
    expect(client.rewards()).toEqual([{ id: 3, data: expect.objectContaining({ totalEarnings: '12.25', rechargeCount: 3 }) }]);
  });

  it('when the viewer is anonymous, then the event shows audienceId and nickname as null', async () => {
    const { roomId, viewerIds } = await liveStage(p.t, 1);
    await p.t.db1('audience').where({ id: viewerIds[0] }).update({ anonymous: true });
    const client = await open(roomId);
    const rechargeId = await reward(p.t, roomId, viewerIds[0]!, '8.00');
    await client.waitForEvents(1);
    expect(client.rewards()[0]!.data).toEqual(
      expect.objectContaining({ rechargeId, audienceId: null, nickname: null, amount: '8.00', totalEarnings: '8.00', rechargeCount: 1 }),
    );
  });

  it('when a client reconnects with Last-Event-ID, then it first gets every event after it, in order, none twice, then the live ones', async () => {
    const { roomId, viewerIds } = await liveStage(p.t, 1);
    const first = await open(roomId);
    await reward(p.t, roomId, viewerIds[0]!, '1.00');
    await reward(p.t, roomId, viewerIds[0]!, '2.00');
    await first.waitForEvents(2);
    first.close();
    // Missed while away.
    for (const amount of ['3.00', '4.00', '5.00']) await reward(p.t, roomId, viewerIds[0]!, amount);

    const again = await open(roomId, { 'Last-Event-ID': '2' });
    await again.waitForEvents(3);
    const live = reward(p.t, roomId, viewerIds[0]!, '6.00');
    await again.waitForEvents(4);
    await live;
    expect(again.rewards().map((e) => [e.id, e.data['amount'], e.data['totalEarnings']])).toEqual([
      [3, '3.00', '6.00'],
      [4, '4.00', '10.00'],
      [5, '5.00', '15.00'],
      [6, '6.00', '21.00'],
    ]);
    // From the start: Last-Event-ID 0 replays the whole kept log.
    const all = await open(roomId, { 'Last-Event-ID': '0' });
    await all.waitForEvents(6);
    expect(all.rewards().map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('when rewards race a reconnect’s replay, then the client still gets each event once and in order', async () => {
    const { roomId, viewerIds } = await liveStage(p.t, 1);
    for (let i = 0; i < 5; i += 1) await reward(p.t, roomId, viewerIds[0]!, '1.00');
    const sending = Promise.all(Array.from({ length: 20 }, () => reward(p.t, roomId, viewerIds[0]!, '1.00')));
    const client = await open(roomId, { 'Last-Event-ID': '3' });
    await sending;
    await client.waitForEvents(22);
    await new Promise((r) => setTimeout(r, 200));
    expect(client.rewards().map((e) => e.id)).toEqual(Array.from({ length: 22 }, (_, i) => i + 4));
    expect(client.rewards().at(-1)!.data).toMatchObject({ rechargeCount: 25, totalEarnings: '25.00' });
  });

  it('when a reward is applied again (a replayed request, the internal endpoint, the sweep), then no second event is logged or sent', async () => {
    const { roomId, viewerIds } = await liveStage(p.t, 1);
    const client = await open(roomId);
    const traceId = newTraceId('DUP');
    const rechargeId = await reward(p.t, roomId, viewerIds[0]!, '7.00', traceId);
    await client.waitForEvents(1);
    // The client's replay of its request: 200, same reward.
    await p.t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await p.t.auth('service'))
      .send({ traceId, audienceId: viewerIds[0], liveRoomId: roomId, amount: '7.00' })
      .expect(200);
    // The anchor module told again, as a retry or the sweep would.
    const again = await p.t.http
      .post('/anchor/api/v1/live-rooms/realtime/reward')
      .set('Authorization', await p.t.auth('internal'))
      .send({ rechargeId, traceId, liveRoomId: roomId, audienceId: viewerIds[0], amount: '7.00' })
      .expect(200);
    expect(again.body).toMatchObject({ totalEarnings: '7.00', rechargeCount: 1 });
    // The heal jobs (the sweep among them) run over the whole worker database, where other files'
    // rewards may still wait for their rooms; this room's reward is counted, so they leave it alone.
    await p.t.healRealtime();
    const figures = await p.t.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200);
    expect(figures.body).toMatchObject({ totalEarnings: '7.00', rechargeCount: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(client.rewards().map((e) => e.id)).toEqual([1]);
    expect(await p.t.redis.client!.xlen(roomKeys(roomId).events)).toBe(1);
  });

  it('when the room is unknown, then 404 problem+json before any stream; a bad id is 400', async () => {
    const unknown = await open(UNKNOWN_ROOM);
    expect(unknown.status).toBe(404);
    expect(unknown.response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(await unknown.text())).toMatchObject({ status: 404, code: 'LIVE_ROOM_NOT_FOUND' });
    const bad = await open('abc');
    expect(bad.status).toBe(400);
    expect(JSON.parse(await bad.text())).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(anchorModule(p.t).liveEvents.subscriberCount()).toBe(0);
  });

  it('when many idle clients watch several rooms, then the instance holds one Redis subscriber connection for all of them', async () => {
    const rooms = [];
    for (let i = 0; i < 4; i += 1) rooms.push((await liveStage(p.t, 1)).roomId);
    const name = anchorModule(p.t).liveEvents.redisConnectionName!;
    for (let i = 0; i < 60; i += 1) await open(rooms[i % rooms.length]!);
    expect(anchorModule(p.t).liveEvents.subscriberCount()).toBe(60);
    const list = (await p.t.redis.client!.client('LIST')) as string;
    const mine = list.split('\n').filter((line) => line.includes(` name=${name} `));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(/ sub=4 /);
  });

  it('when the platform shuts down, then its open streams end and new ones are refused with 503', async () => {
    const own = await servedPlatform();
    const { roomId } = await liveStage(own.t, 1);
    const client = await SseClient.open(own.http.port, streamPath(roomId));
    await client.until(() => client.comments.includes('stream open'), 'the opening comment');
    await own.t.endStreams();
    await client.until(() => client.ended, 'the stream to end');
    const refused = await SseClient.open(own.http.port, streamPath(roomId));
    expect(refused.status).toBe(503);
    await stop(own);
  });
});

describe('live-room event stream, settings', () => {
  it('when the heartbeat is set short, then comment lines keep arriving between events', async () => {
    const p = await servedPlatform({ LIVE_EVENTS_HEARTBEAT_MS: '100' });
    try {
      const { roomId } = await liveStage(p.t, 1);
      const client = await SseClient.open(p.http.port, streamPath(roomId));
      await client.until(() => client.comments.filter((c) => c === 'keep-alive').length >= 3, 'three heartbeats', 3000);
      client.close();
    } finally {
      await stop(p);
    }
  });

  it('when the instance serves its maximum of streams, then one more is 503 problem+json, and a freed place is taken again', async () => {
    const p = await servedPlatform({ LIVE_EVENTS_MAX_SUBSCRIBERS: '2' });
    try {
      const { roomId } = await liveStage(p.t, 1);
      const a = await SseClient.open(p.http.port, streamPath(roomId));
      await SseClient.open(p.http.port, streamPath(roomId));
      const third = await SseClient.open(p.http.port, streamPath(roomId));
      expect(third.status).toBe(503);
      expect(JSON.parse(await third.text())).toMatchObject({ status: 503 });
      a.close();
      await waitUntil(() => Promise.resolve(anchorModule(p.t).liveEvents.subscriberCount() === 1), 'the closed stream to leave');
      expect((await SseClient.open(p.http.port, streamPath(roomId))).status).toBe(200);
    } finally {
      await stop(p);
    }
  });
});

describe('live-room event stream, two instances on one Redis', () => {
  let a: { t: TestPlatform; http: Listening };
  let b: { t: TestPlatform; http: Listening };
  beforeAll(async () => {
    a = await servedPlatform();
    b = await servedPlatform();
  });
  afterAll(async () => {
    await stop(a);
    await stop(b);
  });

  it('when a reward is sent to instance A, then the subscribers of instance B (and of A) get its event', async () => {
    const { roomId, viewerIds } = await liveStage(a.t, 1);
    const onB = await SseClient.open(b.http.port, streamPath(roomId));
    const onA = await SseClient.open(a.http.port, streamPath(roomId));
    await onB.until(() => onB.comments.includes('stream open'), 'B’s stream');
    const first = await reward(a.t, roomId, viewerIds[0]!, '3.00');
    const second = await reward(b.t, roomId, viewerIds[0]!, '4.00');
    await onB.waitForEvents(2);
    await onA.waitForEvents(2);
    for (const client of [onA, onB]) {
      expect(client.rewards().map((e) => [e.id, e.data['rechargeId'], e.data['totalEarnings']])).toEqual([
        [1, first, '3.00'],
        [2, second, '7.00'],
      ]);
    }
    onA.close();
    onB.close();
  });
});

describe('live-room event stream without Redis', () => {
  let p: { t: TestPlatform; http: Listening };
  beforeAll(async () => {
    p = await servedPlatform({ REDIS_URL: '' });
  });
  afterAll(() => stop(p));

  it('when Redis is not configured, then events flow within the instance with DB1’s exact figures, and Last-Event-ID replays its own log', async () => {
    expect(anchorModule(p.t).liveEvents.redisConnectionName).toBeNull();
    const { roomId, viewerIds } = await liveStage(p.t, 1);
    const client = await SseClient.open(p.http.port, streamPath(roomId));
    await client.until(() => client.comments.includes('stream open'), 'the stream');
    await reward(p.t, roomId, viewerIds[0]!, '2.50');
    await reward(p.t, roomId, viewerIds[0]!, '2.50');
    await client.waitForEvents(2);
    expect(client.rewards().map((e) => [e.id, e.data['totalEarnings'], e.data['rechargeCount']])).toEqual([
      [1, '2.50', 1],
      [2, '5.00', 2],
    ]);
    client.close();
    await reward(p.t, roomId, viewerIds[0]!, '1.00');
    const again = await SseClient.open(p.http.port, streamPath(roomId), { 'Last-Event-ID': '1' });
    await again.waitForEvents(2);
    expect(again.rewards().map((e) => [e.id, e.data['totalEarnings']])).toEqual([
      [2, '5.00'],
      [3, '6.00'],
    ]);
    again.close();
  });
});

describe('live-room event stream, a client that does not read', () => {
  const BOUND = 16 * 1024;
  let p: { t: TestPlatform; http: Listening };
  let writer: Redis;
  beforeAll(async () => {
    p = await servedPlatform({ LIVE_EVENTS_MAX_BUFFERED_BYTES: String(BOUND) });
    writer = new Redis(workerRedisUrl());
  });
  afterAll(async () => {
    writer.disconnect();
    await stop(p);
  });

  it('when a client never reads, then it is dropped once its unread bytes pass the bound, and the other subscriber gets every event', async () => {
    const { roomId, viewerIds } = await liveStage(p.t, 1);
    // A raw socket that sends the request and never reads a byte.
    const stalled = connect({ host: '127.0.0.1', port: p.http.port });
    stalled.pause();
    stalled.write(`GET ${streamPath(roomId)} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n`);
    await waitUntil(() => Promise.resolve(anchorModule(p.t).liveEvents.subscriberCount() === 1), 'the stalled stream open');
    const reader = await SseClient.open(p.http.port, streamPath(roomId));
    await reader.until(() => reader.comments.includes('stream open'), 'the reader’s stream live');

    // Far more events than the socket buffers hold, logged the way apply.lua logs them, then announced.
    const total = 80_000;
    const key = `${REDIS_KEY_PREFIX}${roomKeys(roomId).events}`;
    for (let start = 1; start <= total; start += 5000) {
      const pipeline = writer.pipeline();
      for (let id = start; id < start + 5000; id += 1)
        pipeline.xadd(key, `${id}-0`, 'r', id, 'a', viewerIds[0]!, 'm', 100, 'e', id * 100, 'c', id, 't', Date.now());
      await pipeline.exec();
      await writer.publish(eventChannel(REDIS_KEY_PREFIX, roomId), String(start + 4999));
    }
    await reader.waitForEvents(total, 20_000);
    expect(reader.rewards().map((e) => e.id)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await waitUntil(() => Promise.resolve(anchorModule(p.t).liveEvents.subscriberCount() === 1), 'the stalled client to be dropped');
    const dropped = await p.t.metrics.registry.getSingleMetricAsString('live_events_dropped_total');
    expect(dropped).toMatch(/live_events_dropped_total\{reason="slow"\} 1/);

    // What the stalled client can still read is what sat in the kernel's socket buffers plus at most the bound and a
    // batch — the process did not keep the rest of the stream for it (the same in this process's heap: nothing piles up).
    stalled.resume();
    let received = 0;
    stalled.on('data', (chunk: Buffer) => (received += chunk.length));
    await new Promise<void>((resolve) => stalled.once('close', () => resolve()));
    expect(received).toBeLessThan(reader.bytes / 3);
    reader.close();
  });
});

describe('live-room event stream across Redis faults (a Redis of its own)', () => {
  let redis: PrivateRedis;
  let p: { t: TestPlatform; http: Listening };
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    p = await servedPlatform({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await stop(p);
    await redis.dispose();
  });

  it('when Redis is down, then rewards counted straight into DB1 still reach this instance’s clients; when it restarted empty, the ids go on from the room’s count, never backwards', async () => {
    const { roomId, viewerIds } = await liveStage(p.t, 1);
    const client = await SseClient.open(p.http.port, streamPath(roomId));
    await client.until(() => client.comments.includes('stream open'), 'the stream');
    await reward(p.t, roomId, viewerIds[0]!, '1.00');
    await reward(p.t, roomId, viewerIds[0]!, '1.00');
    await client.waitForEvents(2);
    await p.t.flushRealtime();

    await redis.kill();
    await waitUntil(() => Promise.resolve(!p.t.redis.isUsable()), 'redis to be seen down');
    await reward(p.t, roomId, viewerIds[0]!, '2.00');
    await client.waitForEvents(3);

    await redis.restart();
    await waitUntil(() => Promise.resolve(p.t.redis.isUsable()), 'redis to be back', 10_000);
    await p.t.healRealtime();
    await reward(p.t, roomId, viewerIds[0]!, '3.00');
    await client.waitForEvents(4, 10_000);
    expect(client.rewards().map((e) => [e.id, e.data['totalEarnings'], e.data['rechargeCount']])).toEqual([
      [1, '1.00', 1],
      [2, '2.00', 2],
      [3, '4.00', 3],
      [4, '7.00', 4],
    ]);
    expect(await figures(p.t, roomId)).toMatchObject({ totalEarnings: '7.00', rechargeCount: 4 });
    client.close();
    // A reconnect replays both logs merged by id: this instance's own (the outage) and the new Redis one.
    const again = await SseClient.open(p.http.port, streamPath(roomId), { 'Last-Event-ID': '2' });
    await again.waitForEvents(2);
    expect(again.rewards().map((e) => e.id)).toEqual([3, 4]);
    again.close();
  });
});
