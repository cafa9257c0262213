import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import type { Counter } from 'prom-client';
import { testClock } from '../support/clock';
import { workerDatabaseUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { waitUntil } from '../support/private-redis';
import { TcpProxy } from '../support/tcp-proxy';

const REWARD = '/audience/api/v1/recharge';
const TOP10 = '/audience/api/v1/recharge/top10';

interface Top10Body {
  liveRoomId: number;
  period: string;
  items: Array<{ rank: number; audienceId: number; nickname: string; totalAmount: string; rewardCount: number }>;
}

async function top10(t: TestPlatform, roomId: number, period?: string): Promise<Top10Body> {
  const query = period ? `liveRoomId=${roomId}&period=${period}` : `liveRoomId=${roomId}`;
  return (await t.http.get(`${TOP10}?${query}`).expect(200)).body as Top10Body;
}

async function sendReward(t: TestPlatform, roomId: number, audienceId: number, amount: string): Promise<void> {
  await t.http
    .post(REWARD)
    .set('Authorization', await t.auth('service'))
    .send({ traceId: newTraceId('TOP'), audienceId, liveRoomId: roomId, amount })
    .expect(201);
}

/** Counts the ranking queries (the GROUP BY over `recharge`) DB1 receives for the given rooms while `run` runs. */
async function rankingQueries(t: TestPlatform, roomIds: number[], run: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const listener = (query: Knex.Sql) => {
    const isRanking = /from `recharge`/.test(query.sql) && /group by `audience_id`/.test(query.sql);
    if (isRanking && query.bindings.some((value) => roomIds.includes(Number(value)))) count += 1;
  };
  t.db1.on('query', listener);
  try {
    await run();
  } finally {
    t.db1.off('query', listener);
  }
  return count;
}

async function top10CacheRequests(t: TestPlatform): Promise<{ hit: number; miss: number }> {
  const counter = t.metrics.registry.getSingleMetric('cache_requests_total') as Counter<'cache' | 'result'>;
  const values = (await counter.get()).values.filter((v) => v.labels.cache === 'top10');
  const of = (result: string) => values.find((v) => v.labels.result === result)?.value ?? 0;
  return { hit: of('hit'), miss: of('miss') };
}

// The day, week and month asked for are the calendar's: each platform whose tests ask for them runs
// on a clock from a fixed noon (test/support/clock.ts), so a run that crosses midnight answers the same.

describe('TOP10 with the default cache lifetime (1 s)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({}, { clock: testClock() });
  });
  afterAll(() => t.close());

  it('when a reward arrives while the TOP10 is cached, then the TOP10 shows it within 2 s', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    await sendReward(t, roomId, viewerIds[0]!, '5.00');
    expect((await top10(t, roomId, 'day')).items).toEqual([
      { rank: 1, audienceId: viewerIds[0], nickname: 'viewer-0', totalAmount: '5.00', rewardCount: 1 },
    ]);

    await sendReward(t, roomId, viewerIds[1]!, '9.00');
    const rewarded = Date.now();
    await waitUntil(async () => (await top10(t, roomId, 'day')).items.length === 2, 'the new reward in the TOP10', 2000);
    expect(Date.now() - rewarded).toBeLessThan(2000);
    expect((await top10(t, roomId, 'day')).items.map((i) => [i.audienceId, i.totalAmount, i.rank])).toEqual([
      [viewerIds[1], '9.00', 1],
      [viewerIds[0], '5.00', 2],
    ]);
  });

  it('when a room does not exist, then 200 with no items, as before the cache', async () => {
    expect(await top10(t, 999_999_997)).toEqual({ liveRoomId: 999_999_997, period: 'all', from: null, to: null, items: [] });
    // The clock's Wednesday 11 November 2026: the week from Monday the 9th, local midnight in Shanghai.
    expect(await top10(t, 999_999_997, 'week')).toEqual({
      liveRoomId: 999_999_997,
      period: 'week',
      from: '2026-11-08T16:00:00.000Z',
      to: '2026-11-15T16:00:00.000Z',
      items: [],
    });
    await t.http.get(`${TOP10}?liveRoomId=abc`).expect(400);
  });
});

describe('TOP10 with a long cache lifetime (60 s), so "within the lifetime" is certain', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ TOP10_CACHE_TTL_MS: '60000', DB_POOL_MAX: '1' }, { clock: testClock() });
  });
  afterAll(() => t.close());

  it('when 50 requests ask for a cold TOP10 at once, then DB1 runs one ranking query, and none for the requests after', async () => {
    const { roomId, viewerIds } = await liveStage(t, 3);
    for (const [i, id] of viewerIds.entries()) await sendReward(t, roomId, id, `${i + 1}.00`);
    const before = await top10CacheRequests(t);

    let answers: Top10Body[] = [];
    const cold = await rankingQueries(t, [roomId], async () => {
      // The pool's one connection is held meanwhile, so the first load cannot finish before the others ask.
      const holder = await t.db1.transaction();
      const asking = Promise.all(Array.from({ length: 50 }, () => top10(t, roomId)));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await holder.commit();
      answers = await asking;
    });
    expect(cold).toBe(1);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]!.items.map((i) => i.totalAmount)).toEqual(['3.00', '2.00', '1.00']);

    const warm = await rankingQueries(t, [roomId], async () => {
      for (let i = 0; i < 20; i += 1) expect(await top10(t, roomId)).toEqual(answers[0]);
    });
    expect(warm).toBe(0);
    const after = await top10CacheRequests(t);
    expect(after.miss - before.miss).toBe(1);
    expect(after.hit - before.hit).toBe(69);
  });

  it('when other periods or rooms are asked for, then each is loaded and cached on its own', async () => {
    const a = await liveStage(t, 1);
    const b = await liveStage(t, 1);
    await sendReward(t, a.roomId, a.viewerIds[0]!, '7.00');
    await sendReward(t, b.roomId, b.viewerIds[0]!, '3.00');
    const asks: Array<[number, string]> = [
      [a.roomId, 'all'],
      [a.roomId, 'day'],
      [a.roomId, 'week'],
      [a.roomId, 'month'],
      [b.roomId, 'all'],
      [b.roomId, 'day'],
    ];
    const answers: Top10Body[] = [];
    const firstRound = await rankingQueries(t, [a.roomId, b.roomId], async () => {
      for (const [room, period] of asks) answers.push(await top10(t, room, period));
    });
    expect(firstRound).toBe(asks.length);
    expect(answers.map((x) => [x.liveRoomId, x.period, x.items.map((i) => [i.audienceId, i.totalAmount])])).toEqual(
      asks.map(([room, period]) => [room, period, room === a.roomId ? [[a.viewerIds[0], '7.00']] : [[b.viewerIds[0], '3.00']]]),
    );
    const secondRound = await rankingQueries(t, [a.roomId, b.roomId], async () => {
      for (const [i, [room, period]] of asks.entries()) expect(await top10(t, room, period)).toEqual(answers[i]);
    });
    expect(secondRound).toBe(0);
  });
});

describe('TOP10 by day around local midnight (TIME_ZONE Asia/Shanghai, cache lifetime 60 s)', () => {
  // Thursday 12 November 2026 begins in Shanghai at 16:00 UTC on the 11th.
  const MIDNIGHT = new Date('2026-11-11T16:00:00.000Z');
  const clock = testClock();
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ TOP10_CACHE_TTL_MS: '60000' }, { clock });
  });
  afterAll(() => t.close());

  it('when one reward comes a second before local midnight and one a second after, then they count in different days and the same week', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    clock.stopAt(new Date(MIDNIGHT.getTime() - 1000));
    await sendReward(t, roomId, viewerIds[0]!, '5.00');
    const beforeMidnight = (await top10(t, roomId, 'day')).items;

    clock.stopAt(new Date(MIDNIGHT.getTime() + 1000));
    await sendReward(t, roomId, viewerIds[1]!, '3.00');
    // The old day's answer is still cached: the new day must be an entry of its own.
    const afterMidnight = (await top10(t, roomId, 'day')).items;
    const week = (await top10(t, roomId, 'week')).items;

    expect(beforeMidnight).toEqual([{ rank: 1, audienceId: viewerIds[0], nickname: 'viewer-0', totalAmount: '5.00', rewardCount: 1 }]);
    expect(afterMidnight).toEqual([{ rank: 1, audienceId: viewerIds[1], nickname: 'viewer-1', totalAmount: '3.00', rewardCount: 1 }]);
    expect(week.map((i) => [i.audienceId, i.totalAmount])).toEqual([
      [viewerIds[0], '5.00'],
      [viewerIds[1], '3.00'],
    ]);
    const stored = await t.db1('recharge').where({ live_room_id: roomId }).orderBy('id').select('audience_id', 'created_at');
    expect(stored).toEqual([
      { audience_id: viewerIds[0], created_at: '2026-11-11 15:59:59.000' },
      { audience_id: viewerIds[1], created_at: '2026-11-11 16:00:01.000' },
    ]);
  });
});

describe('TOP10 when DB1 fails during a load', () => {
  let proxy: TcpProxy;
  let t: TestPlatform;
  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
    t = await createTestPlatform({
      DB1_URL: workerDatabaseUrl('db1').replace(':3306/', `:${proxy.port}/`),
      DB_ACQUIRE_TIMEOUT_MS: '800',
      TOP10_CACHE_TTL_MS: '60000',
    });
  });
  afterAll(async () => {
    await t.close();
    await proxy.cut();
  });

  it('when the load fails, then the failure is not cached: the next request once DB1 is back answers the ranking', async () => {
    const { roomId, viewerIds } = await liveStage(t, 1);
    await sendReward(t, roomId, viewerIds[0]!, '4.00');
    await proxy.cut();
    try {
      expect((await t.http.get(`${TOP10}?liveRoomId=${roomId}`).expect(503)).body.code).toBe('DEPENDENCY_UNAVAILABLE');
    } finally {
      await proxy.restore();
    }
    expect((await top10(t, roomId)).items).toEqual([
      { rank: 1, audienceId: viewerIds[0], nickname: 'viewer-0', totalAmount: '4.00', rewardCount: 1 },
    ]);
  });
});
