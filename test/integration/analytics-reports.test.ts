import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Counter } from 'prom-client';
import { testClock } from '../support/clock';
import { planOf, rewardQueriesOf } from '../support/explain';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

const AN = '/analysis/api/v1';
// A calendar day no other test file rewards in: 2036-03-05 in Asia/Shanghai is [03-04T16:00Z, 03-05T16:00Z).
const DAY_FROM = '2036-03-04T16:00:00.000Z';
const DAY_TO = '2036-03-05T16:00:00.000Z';
const NEXT_TO = '2036-03-06T16:00:00.000Z';

const clock = testClock();
let t: TestPlatform;
let admin: string;
let refundedId: number;
let stageA: { anchorId: number; roomId: number; viewerIds: number[] };
let stageB: { anchorId: number; roomId: number; viewerIds: number[] };

async function rewardAt(at: string, stage: { roomId: number; viewerIds: number[] }, viewer: number, amount: string): Promise<number> {
  clock.stopAt(new Date(at));
  const res = await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('service'))
    .send({ traceId: newTraceId('AN'), audienceId: stage.viewerIds[viewer], liveRoomId: stage.roomId, amount })
    .expect(201);
  return (res.body as { rechargeId: number }).rechargeId;
}

async function analyticsCache(): Promise<{ hit: number; miss: number }> {
  const values = (await (t.metrics.registry.getSingleMetric('redis_cache_requests_total') as Counter<'cache' | 'result'>).get()).values;
  const of = (result: string) => values.find((v) => v.labels.cache === 'analytics' && v.labels.result === result)?.value ?? 0;
  return { hit: of('hit'), miss: of('miss') };
}

beforeAll(async () => {
  // Caching off for the figures; the cache has a test of its own below.
  t = await createTestPlatform({ ANALYTICS_CACHE_TTL_MS: '0' }, { clock });
  admin = await t.auth('admin');
  const stage = await liveStage(t, 4);
  stageA = stage;
  stageB = await liveStage(t, 1);
  await rewardAt('2036-03-04T15:59:59.999Z', stage, 0, '1000.00'); // 23:59:59.999 the day before: outside
  await rewardAt('2036-03-04T16:30:00.000Z', stage, 0, '10.00'); // 00:30 local
  await rewardAt('2036-03-05T01:15:00.000Z', stage, 1, '20.00'); // 09:15
  refundedId = await rewardAt('2036-03-05T02:00:00.000Z', stage, 3, '100.00'); // refunded below
  await rewardAt('2036-03-05T03:00:00.000Z', stageB, 0, '50.00'); // 11:00, another anchor
  await rewardAt('2036-03-05T15:59:59.999Z', stage, 0, '5.00'); // 23:59:59.999
  await rewardAt('2036-03-05T16:00:00.000Z', stage, 2, '7.01'); // 00:00 the next day
  await t.runSync();
  await t.http.post(`/audience/api/v1/recharge/${refundedId}/refund`).set('Authorization', admin).send({ reason: 'test' }).expect(200);
});
afterAll(() => t.close());

describe('analytics overview', () => {
  it('when a calendar day is asked, then its rewards are summed to the fen without the refunded one, ARPPU rounds down and platform revenue is the settled platform share', async () => {
    const res = await t.http.get(`${AN}/overview`).query({ from: DAY_FROM, to: DAY_TO }).set('Authorization', admin).expect(200);
    // 10.00 + 20.00 + 5.00 + 50.00 by three viewers (8500 / 3 = 2833.3 fen); platform shares at 0.5000: 5.00 + 10.00 + 2.50 + 25.00.
    expect(res.body).toEqual({
      from: DAY_FROM,
      to: DAY_TO,
      totalAmount: '85.00',
      rewardCount: 4,
      payingViewers: 3,
      arppu: '28.33',
      platformRevenue: '42.50',
    });
    const next = (await t.http.get(`${AN}/overview`).query({ from: DAY_TO, to: NEXT_TO }).set('Authorization', admin).expect(200)).body;
    // 7.01 / 1 viewer; the platform keeps the odd fen: 3.51.
    expect(next).toMatchObject({ totalAmount: '7.01', rewardCount: 1, payingViewers: 1, arppu: '7.01', platformRevenue: '3.51' });
    const empty = (
      await t.http
        .get(`${AN}/overview`)
        .query({ from: '2036-01-01T00:00:00Z', to: '2036-01-02T00:00:00Z' })
        .set('Authorization', admin)
        .expect(200)
    ).body;
    expect(empty).toMatchObject({ totalAmount: '0.00', rewardCount: 0, payingViewers: 0, arppu: '0.00', platformRevenue: '0.00' });
  });

  it('when the range is left out, then it is today so far in TIME_ZONE', async () => {
    clock.stopAt(new Date('2036-03-05T04:00:00.000Z')); // noon local
    const res = await t.http.get(`${AN}/overview`).set('Authorization', admin).expect(200);
    expect(res.body).toMatchObject({ from: DAY_FROM, to: '2036-03-05T04:00:00.000Z', totalAmount: '80.00', rewardCount: 3 });
  });
});

describe('analytics trend', () => {
  it('when days are asked, then every day of the range is there, named by its local midnight, and the days add up to the overview', async () => {
    const res = await t.http
      .get(`${AN}/trend`)
      .query({ from: DAY_FROM, to: NEXT_TO, bucket: 'day' })
      .set('Authorization', admin)
      .expect(200);
    expect(res.body).toEqual({
      from: DAY_FROM,
      to: NEXT_TO,
      bucket: 'day',
      timeZone: 'Asia/Shanghai',
      items: [
        { start: DAY_FROM, totalAmount: '85.00', rewardCount: 4 },
        { start: DAY_TO, totalAmount: '7.01', rewardCount: 1 },
      ],
    });
  });

  it('when hours are asked, then all 24 are there, zeros included, each reward in its own hour', async () => {
    const res = await t.http
      .get(`${AN}/trend`)
      .query({ from: DAY_FROM, to: DAY_TO, bucket: 'hour' })
      .set('Authorization', admin)
      .expect(200);
    const items = res.body.items as Array<{ start: string; totalAmount: string; rewardCount: number }>;
    expect(items).toHaveLength(24);
    expect(items.filter((i) => i.rewardCount > 0)).toEqual([
      { start: '2036-03-04T16:00:00.000Z', totalAmount: '10.00', rewardCount: 1 },
      { start: '2036-03-05T01:00:00.000Z', totalAmount: '20.00', rewardCount: 1 },
      { start: '2036-03-05T03:00:00.000Z', totalAmount: '50.00', rewardCount: 1 },
      { start: '2036-03-05T15:00:00.000Z', totalAmount: '5.00', rewardCount: 1 },
    ]);
    expect(items.filter((i) => i.rewardCount === 0).every((i) => i.totalAmount === '0.00')).toBe(true);
    expect(items.map((i) => Date.parse(i.start) - Date.parse(DAY_FROM))).toEqual(Array.from({ length: 24 }, (_, h) => h * 3_600_000));
  });

  it('when the range starts inside a bucket, then that bucket counts only its part of the range', async () => {
    const res = await t.http
      .get(`${AN}/trend`)
      .query({ from: '2036-03-04T16:45:00Z', to: DAY_TO, bucket: 'day' })
      .set('Authorization', admin)
      .expect(200);
    expect(res.body.items).toEqual([{ start: DAY_FROM, totalAmount: '75.00', rewardCount: 3 }]);
  });
});

describe('analytics rankings, room report and distribution', () => {
  it('when anchors and viewers are ranked over the day, then by amount, the refunded reward left out', async () => {
    const anchors = (
      await t.http.get(`${AN}/anchors/ranking`).query({ from: DAY_FROM, to: DAY_TO }).set('Authorization', admin).expect(200)
    ).body;
    expect(anchors).toEqual({
      from: DAY_FROM,
      to: DAY_TO,
      items: [
        { rank: 1, anchorId: stageB.anchorId, name: expect.any(String), status: 'ACTIVE', totalAmount: '50.00', rewardCount: 1 },
        { rank: 2, anchorId: stageA.anchorId, name: expect.any(String), status: 'ACTIVE', totalAmount: '35.00', rewardCount: 3 },
      ],
    });
    const viewers = (
      await t.http.get(`${AN}/viewers/ranking`).query({ from: DAY_FROM, to: DAY_TO, limit: 2 }).set('Authorization', admin).expect(200)
    ).body;
    expect(viewers.items).toEqual([
      { rank: 1, audienceId: stageB.viewerIds[0], nickname: expect.any(String), anonymous: false, totalAmount: '50.00', rewardCount: 1 },
      { rank: 2, audienceId: stageA.viewerIds[1], nickname: expect.any(String), anonymous: false, totalAmount: '20.00', rewardCount: 1 },
    ]);
    const all = (await t.http.get(`${AN}/viewers/ranking`).query({ from: DAY_FROM, to: DAY_TO }).set('Authorization', admin).expect(200))
      .body;
    expect(all.items.map((v: { audienceId: number; totalAmount: string }) => [v.audienceId, v.totalAmount])).toEqual([
      [stageB.viewerIds[0], '50.00'],
      [stageA.viewerIds[1], '20.00'],
      [stageA.viewerIds[0], '15.00'],
    ]);
  });

  it('when a room is reported over the day, then its totals, its busiest minute and its session with the whole session’s totals', async () => {
    const report = (
      await t.http
        .get(`${AN}/live-rooms/${stageA.roomId}/report`)
        .query({ from: DAY_FROM, to: DAY_TO })
        .set('Authorization', admin)
        .expect(200)
    ).body;
    expect(report).toMatchObject({
      liveRoomId: stageA.roomId,
      anchorId: stageA.anchorId,
      from: DAY_FROM,
      to: DAY_TO,
      totalAmount: '35.00',
      rewardCount: 3,
      payingViewers: 2,
      peakMinute: { start: '2036-03-05T01:15:00.000Z', totalAmount: '20.00', rewardCount: 1 },
    });
    // The session began before 2036 and is running: it overlaps the day; its totals are the whole session's, the refund out.
    expect(report.sessions).toEqual([
      { sessionId: expect.any(Number), startedAt: expect.any(String), endedAt: null, totalEarnings: '1042.01', rechargeCount: 5 },
    ]);
    const quiet = (
      await t.http
        .get(`${AN}/live-rooms/${stageA.roomId}/report`)
        .query({ from: '2036-01-01T00:00:00Z', to: '2036-01-02T00:00:00Z' })
        .set('Authorization', admin)
        .expect(200)
    ).body;
    expect(quiet).toMatchObject({ totalAmount: '0.00', rewardCount: 0, payingViewers: 0, peakMinute: null });
    const unknown = await t.http.get(`${AN}/live-rooms/999999999/report`).set('Authorization', admin);
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 404, code: 'LIVE_ROOM_NOT_FOUND' });
  });

  it('when the amounts are distributed, then every bucket is there and they add up to the overview', async () => {
    const d = (await t.http.get(`${AN}/distribution`).query({ from: DAY_FROM, to: DAY_TO }).set('Authorization', admin).expect(200)).body;
    expect(d.buckets).toEqual([
      { min: '0.01', max: '1.00', totalAmount: '0.00', rewardCount: 0 },
      { min: '1.00', max: '10.00', totalAmount: '5.00', rewardCount: 1 },
      { min: '10.00', max: '100.00', totalAmount: '80.00', rewardCount: 3 },
      { min: '100.00', max: '1000.00', totalAmount: '0.00', rewardCount: 0 },
      { min: '1000.00', max: '10000.00', totalAmount: '0.00', rewardCount: 0 },
      { min: '10000.00', max: null, totalAmount: '0.00', rewardCount: 0 },
    ]);
  });
});

describe('analytics requests', () => {
  it('when the query is wrong or the caller is not an admin, then 4xx problem+json', async () => {
    for (const [path, query] of [
      ['/overview', { from: DAY_TO, to: DAY_FROM }],
      ['/overview', { from: 'yesterday' }],
      ['/overview', { anchorId: 1 }],
      ['/trend', { bucket: 'week' }],
      ['/trend', { from: '2036-01-01T00:00:00Z', to: '2036-03-01T00:00:00Z', bucket: 'hour' }],
      ['/anchors/ranking', { limit: 101 }],
      ['/viewers/ranking', { limit: 0 }],
      ['/distribution', { to: '2030-01-01T00:00:00Z', from: '2031-01-01T00:00:00Z' }],
      ['/live-rooms/abc/report', {}],
    ] as const) {
      const res = await t.http.get(`${AN}${path}`).query(query).set('Authorization', admin);
      expect({ path, query, status: res.status, code: res.body.code }).toEqual({ path, query, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect((await t.http.get(`${AN}/overview`)).status).toBe(401);
    expect((await t.http.get(`${AN}/trend`).set('Authorization', await t.auth('anchor', 1))).status).toBe(403);
  });

  it('when the same report is asked twice within its cache lifetime, then Redis answers the second', async () => {
    const cached = await createTestPlatform({ ANALYTICS_CACHE_TTL_MS: '60000' }, { clock });
    try {
      const auth = await cached.auth('admin');
      const query = { from: DAY_FROM, to: DAY_TO };
      const values = async () =>
        (await (cached.metrics.registry.getSingleMetric('redis_cache_requests_total') as Counter<'cache' | 'result'>).get()).values;
      const count = async (result: string) =>
        (await values()).find((v) => v.labels.cache === 'analytics' && v.labels.result === result)?.value ?? 0;
      // Another test run may have cached this very range: clear it first.
      await cached.redis.client?.del(`analytics:overview:${DAY_FROM}:${DAY_TO}`);
      const first = (await cached.http.get(`${AN}/overview`).query(query).set('Authorization', auth).expect(200)).body;
      const second = (await cached.http.get(`${AN}/overview`).query(query).set('Authorization', auth).expect(200)).body;
      expect(second).toEqual(first);
      expect({ hit: await count('hit'), miss: await count('miss') }).toEqual({ hit: 1, miss: 1 });
    } finally {
      await cached.close();
    }
    expect(await analyticsCache()).toEqual({ hit: 0, miss: expect.any(Number) });
  });

  it('when a report without `to` is asked again a moment later, then the cached answer serves it, its `to` saying up to when it counted', async () => {
    const cached = await createTestPlatform({ ANALYTICS_CACHE_TTL_MS: '60000' }, { clock });
    try {
      const auth = await cached.auth('admin');
      clock.stopAt(new Date('2036-03-05T04:00:00.000Z'));
      await cached.redis.client?.del(`analytics:distribution:${DAY_FROM}:now`, `analytics:trend:hour:back:now`);
      const first = (await cached.http.get(`${AN}/distribution`).set('Authorization', auth).expect(200)).body;
      const trend = (await cached.http.get(`${AN}/trend?bucket=hour`).set('Authorization', auth).expect(200)).body;
      clock.stopAt(new Date('2036-03-05T04:00:07.000Z'));
      expect((await cached.http.get(`${AN}/distribution`).set('Authorization', auth).expect(200)).body).toEqual(first);
      expect((await cached.http.get(`${AN}/trend?bucket=hour`).set('Authorization', auth).expect(200)).body).toEqual(trend);
      expect(first.to).toBe('2036-03-05T04:00:00.000Z');
      // A `to` that is asked is its own entry.
      const asked = (await cached.http.get(`${AN}/distribution?to=2036-03-05T04:00:07.000Z`).set('Authorization', auth).expect(200)).body;
      expect(asked.to).toBe('2036-03-05T04:00:07.000Z');
      const values = (await (cached.metrics.registry.getSingleMetric('redis_cache_requests_total') as Counter<'cache' | 'result'>).get())
        .values;
      const of = (result: string) => values.find((v) => v.labels.cache === 'analytics' && v.labels.result === result)?.value ?? 0;
      expect({ hit: of('hit'), miss: of('miss') }).toEqual({ hit: 2, miss: 3 });
    } finally {
      await cached.close();
    }
  });
});

describe('analytics query plans on MariaDB', () => {
  it('when the overview and the trend are asked, then they read the reward table through idx_recharge_time, never a full scan, refunds by primary key', async () => {
    for (const path of [`${AN}/overview?from=${DAY_FROM}&to=${DAY_TO}`, `${AN}/trend?from=${DAY_FROM}&to=${NEXT_TO}&bucket=hour`]) {
      // The reports read on the reports pool (its long statement timeout).
      const queries = await rewardQueriesOf(t, () => t.http.get(path).set('Authorization', admin).expect(200), /`recharge`/, t.reports.db1);
      expect({ path, sent: queries.length }).toEqual({ path, sent: 1 });
      const reads = (await planOf(t, queries[0]!)).filter((row) => !row.table.startsWith('<'));
      expect(reads.map((r) => ({ table: r.table, key: r.key, full: r.type === 'ALL' || r.type === 'index' }))).toEqual([
        { table: 'recharge', key: 'idx_recharge_time', full: false },
        { table: 'rf', key: 'PRIMARY', full: false },
      ]);
    }
  });
});
