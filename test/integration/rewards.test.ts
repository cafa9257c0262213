import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testClock } from '../support/clock';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { metricSample, metricsOf } from '../support/prometheus';
import { PrivateRedis, waitUntil } from '../support/private-redis';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(() => t.close());

const URL = '/audience/api/v1/recharge';

async function rowsFor(traceId: string) {
  return t.db1('recharge').where({ trace_id: traceId });
}

describe('sending a reward', () => {
  it('when a viewer rewards a live room, then 201 with the core shape, one PENDING row and updated consumption', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const traceId = newTraceId('RC');
    const res = await t.http
      .post(URL)
      .set('Authorization', await t.auth('audience', audienceId))
      .send({ traceId, audienceId, liveRoomId: roomId, amount: '100.50', giftName: 'rocket', message: 'gg' })
      .expect(201);
    expect(res.body).toEqual({
      rechargeId: expect.any(Number),
      traceId,
      audienceId,
      liveRoomId: roomId,
      anchorId,
      amount: '100.50',
      status: 'SUCCESS',
      createdAt: expect.stringMatching(/Z$/),
    });
    const rows = await rowsFor(traceId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ amount: 10050, sync_status: 'PENDING', anchor_id: anchorId, gift_name: 'rocket' });
    const session = (await t.db1('live_room').where({ id: roomId }).first()).current_session_id;
    expect(rows[0].live_session_id).toBe(session);

    const consumption = await t.http
      .get(`/audience/api/v1/audiences/${audienceId}/consumption`)
      .set('Authorization', await t.auth('audience', audienceId))
      .expect(200);
    expect(consumption.body).toEqual({ audienceId, totalAmount: '100.50', rewardCount: 1, lastRewardAt: res.body.createdAt });
  });

  it('when the same traceId is replayed, then 200 with the same body and Idempotent-Replayed, even after the room stopped', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const auth = await t.auth('audience', audienceId);
    const body = { traceId: newTraceId(), audienceId, liveRoomId: roomId, amount: 100 };
    const first = await t.http.post(URL).set('Authorization', auth).send(body).expect(201);
    await t.http
      .post(`/anchor/api/v1/live-rooms/${roomId}/stop`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    const replay = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ ...body, amount: '100.00' })
      .expect(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await rowsFor(body.traceId)).toHaveLength(1);
    const audience = await t.db1('audience').where({ id: audienceId }).first();
    expect(audience).toMatchObject({ total_amount: 10000, reward_count: 1 });
  });

  it('when the same traceId comes with other content, then 409 IDEMPOTENCY_CONFLICT and nothing changes', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const auth = await t.auth('audience', audienceId);
    const body = { traceId: newTraceId(), audienceId, liveRoomId: roomId, amount: '5.00' };
    await t.http.post(URL).set('Authorization', auth).send(body).expect(201);
    const conflict = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ ...body, amount: '5.01' })
      .expect(409);
    expect(conflict.body.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(await rowsFor(body.traceId)).toHaveLength(1);
    expect((await rowsFor(body.traceId))[0].amount).toBe(500);
  });

  it('when two traceIds differ only in letter case, then they are two different rewards, not a replay or a conflict', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const auth = await t.auth('audience', audienceId);
    const lower = `rc-${newTraceId('case')}`.toLowerCase();
    const upper = lower.toUpperCase();
    const first = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId: lower, audienceId, liveRoomId: roomId, amount: '5.00' })
      .expect(201);
    const same = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId: upper, audienceId, liveRoomId: roomId, amount: '5.00' })
      .expect(201);
    const mixed = `RC${lower.slice(2)}`;
    const other = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId: mixed, audienceId, liveRoomId: roomId, amount: '7.00' })
      .expect(201);
    expect(same.headers['idempotent-replayed']).toBeUndefined();
    expect([first.body.traceId, same.body.traceId, other.body.traceId]).toEqual([lower, upper, mixed]);
    expect(new Set([first.body.rechargeId, same.body.rechargeId, other.body.rechargeId]).size).toBe(3);
    for (const traceId of [lower, upper, mixed]) expect(await rowsFor(traceId)).toHaveLength(1);
  });

  it('when a request fails validation, then it is not remembered and a corrected retry with the same traceId is 201', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const auth = await t.auth('audience', audienceId);
    const traceId = newTraceId();
    await t.http.post(URL).set('Authorization', auth).send({ traceId, audienceId, liveRoomId: roomId, amount: '1.001' }).expect(400);
    await t.http.post(URL).set('Authorization', auth).send({ traceId, audienceId, liveRoomId: roomId, amount: '1.00' }).expect(201);
  });

  it('when 200 identical requests race, then exactly one row exists, one answer is 201, the rest 200, all with one body', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const auth = await t.auth('service', 9);
    const body = { traceId: newTraceId(), audienceId, liveRoomId: roomId, amount: '3.33' };
    const answers = await Promise.all(Array.from({ length: 200 }, () => t.http.post(URL).set('Authorization', auth).send(body)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(199);
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect(await rowsFor(body.traceId)).toHaveLength(1);
    expect(await t.db1('audience').where({ id: audienceId }).first()).toMatchObject({ total_amount: 333, reward_count: 1 });
  });

  it('when 300 different rewards arrive at once, then every one is stored exactly once and the consumption sums to the fen', async () => {
    const { roomId, viewerIds } = await liveStage(t, 5);
    const requests = Array.from({ length: 300 }, (_, i) => ({
      traceId: newTraceId('BULK'),
      audienceId: viewerIds[i % 5]!,
      liveRoomId: roomId,
      amount: ((i % 7) + 1) * 101,
    }));
    const auth = await t.auth('service', 9);
    const answers = await Promise.all(requests.map((body) => t.http.post(URL).set('Authorization', auth).send(body)));
    expect(answers.every((a) => a.status === 201)).toBe(true);
    expect(new Set(answers.map((a) => a.body.rechargeId)).size).toBe(300);
    const stored = await t.db1('recharge').where({ live_room_id: roomId }).sum({ s: 'amount' }).count({ n: '*' }).first();
    const expectedFen = requests.reduce((sum, r) => sum + r.amount * 100, 0);
    expect(Number(stored?.['s'])).toBe(expectedFen);
    expect(Number(stored?.['n'])).toBe(300);
    const viewers = await t.db1('audience').whereIn('id', viewerIds).sum({ s: 'total_amount' }).sum({ c: 'reward_count' }).first();
    expect(Number(viewers?.['s'])).toBe(expectedFen);
    expect(Number(viewers?.['c'])).toBe(300);
  });

  it('when rewards are stored one transaction after another, then each costs one INSERT and the id allocation is read once per pool, not per transaction', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const auth = await t.auth('service', 9);
    // Warm the pool's cached id allocation, then watch three more transactions.
    await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId: newTraceId('WARM'), audienceId: viewerIds[0], liveRoomId: roomId, amount: 1 })
      .expect(201);
    const statements: string[] = [];
    const onQuery = (query: { sql: string }) => statements.push(query.sql);
    t.db1.on('query', onQuery);
    try {
      for (let i = 0; i < 3; i += 1) {
        await t.http
          .post(URL)
          .set('Authorization', auth)
          .send({ traceId: newTraceId('SEQ'), audienceId: viewerIds[0], liveRoomId: roomId, amount: 2 })
          .expect(201);
      }
    } finally {
      t.db1.off('query', onQuery);
    }
    expect(statements.filter((sql) => /^insert into `recharge`/i.test(sql))).toHaveLength(3);
    expect(statements.filter((sql) => /innodb_autoinc_lock_mode/i.test(sql))).toHaveLength(0);
  });
});

describe('rejected rewards store nothing', () => {
  const badAmounts: Array<[string, unknown]> = [
    ['-1', -1],
    ['0', 0],
    ['0.001', 0.001],
    ['"1e2"', '1e2'],
    ['"abc"', 'abc'],
    ['NaN as a string', 'NaN'],
    ['over the maximum', '100000.01'],
    ['".5"', '.5'],
    ['"01.00"', '01.00'],
    ['null', null],
  ];

  it.each(badAmounts)('when the amount is %s, then 400 VALIDATION_FAILED on amount and no row', async (_label, amount) => {
    const { roomId, viewerIds } = await liveStage(t);
    const traceId = newTraceId();
    const res = await t.http
      .post(URL)
      .set('Authorization', await t.auth('service'))
      .send({ traceId, audienceId: viewerIds[0], liveRoomId: roomId, amount })
      .expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['amount']);
    expect(await rowsFor(traceId)).toHaveLength(0);
  });

  it('when fields are missing or extra, or ids are strings, then 400 naming each field', async () => {
    const res = await t.http
      .post(URL)
      .set('Authorization', await t.auth('service'))
      .send({ audienceId: '1', liveRoomId: 1.5, amount: '1.00', tip: true })
      .expect(400);
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['audienceId', 'liveRoomId', 'tip', 'traceId']);
  });

  it('when an id is beyond 2^53 (it would be rounded), then 400 names that field once and nothing is stored', async () => {
    const traceId = newTraceId();
    const res = await t.http
      .post(URL)
      .set('Authorization', await t.auth('service'))
      .set('Content-Type', 'application/json')
      .send(`{"traceId":"${traceId}","audienceId":9007199254740993,"liveRoomId":1,"amount":"1.00"}`)
      .expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['audienceId']);
    expect(await rowsFor(traceId)).toHaveLength(0);
  });

  it('when the viewer or the room does not exist, then 404 AUDIENCE_NOT_FOUND / LIVE_ROOM_NOT_FOUND', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const auth = await t.auth('service');
    const noViewer = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId: newTraceId(), audienceId: 999999991, liveRoomId: roomId, amount: 1 })
      .expect(404);
    expect(noViewer.body.code).toBe('AUDIENCE_NOT_FOUND');
    const traceId = newTraceId();
    const noRoom = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId, audienceId: viewerIds[0], liveRoomId: 999999992, amount: 1 })
      .expect(404);
    expect(noRoom.body.code).toBe('LIVE_ROOM_NOT_FOUND');
    expect(await rowsFor(traceId)).toHaveLength(0);
  });

  it('when the room is not live, then 409 LIVE_ROOM_NOT_LIVE; when the viewer or anchor is disabled, then 403 ACCOUNT_DISABLED', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t, 2);
    const auth = await t.auth('service');
    await t.db1('audience').where({ id: viewerIds[1] }).update({ status: 'DISABLED' });
    const disabledViewer = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId: newTraceId(), audienceId: viewerIds[1], liveRoomId: roomId, amount: 1 })
      .expect(403);
    expect(disabledViewer.body.code).toBe('ACCOUNT_DISABLED');
    await t.db1('anchor').where({ id: anchorId }).update({ status: 'DISABLED' });
    const disabledAnchor = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId: newTraceId(), audienceId: viewerIds[0], liveRoomId: roomId, amount: 1 })
      .expect(403);
    expect(disabledAnchor.body.code).toBe('ACCOUNT_DISABLED');
    await t.db1('anchor').where({ id: anchorId }).update({ status: 'ACTIVE' });
    await t.http
      .post(`/anchor/api/v1/live-rooms/${roomId}/stop`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    const traceId = newTraceId();
    const notLive = await t.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId, audienceId: viewerIds[0], liveRoomId: roomId, amount: 1 })
      .expect(409);
    expect(notLive.body.code).toBe('LIVE_ROOM_NOT_LIVE');
    expect(await t.db1('recharge').where({ live_room_id: roomId })).toHaveLength(0);
  });

  it('when a viewer rewards as someone else, then 403 FORBIDDEN; an anchor token may not reward at all', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    const traceId = newTraceId();
    const res = await t.http
      .post(URL)
      .set('Authorization', await t.auth('audience', viewerIds[0]))
      .send({ traceId, audienceId: viewerIds[1], liveRoomId: roomId, amount: 1 })
      .expect(403);
    expect(res.body.code).toBe('FORBIDDEN');
    await t.http
      .post(URL)
      .set('Authorization', await t.auth('anchor', 1))
      .send({ traceId, audienceId: viewerIds[1], liveRoomId: roomId, amount: 1 })
      .expect(403);
    await t.http.post(URL).send({ traceId, audienceId: viewerIds[1], liveRoomId: roomId, amount: 1 }).expect(401);
    expect(await rowsFor(traceId)).toHaveLength(0);
  });
});

describe('batch rewards', () => {
  it('when a batch mixes good, replayed, conflicting and invalid items, then each is judged on its own', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    const auth = await t.auth('service');
    const replayed = { traceId: newTraceId(), audienceId: viewerIds[0], liveRoomId: roomId, amount: '2.00' };
    const first = await t.http.post(URL).set('Authorization', auth).send(replayed).expect(201);
    const items = [
      { traceId: newTraceId(), audienceId: viewerIds[0], liveRoomId: roomId, amount: '1.00' },
      replayed,
      { ...replayed, amount: '9.99' },
      { traceId: newTraceId(), audienceId: viewerIds[1], liveRoomId: roomId, amount: '-1' },
      { traceId: newTraceId(), audienceId: 999999993, liveRoomId: roomId, amount: 1 },
      { traceId: newTraceId(), audienceId: viewerIds[1], liveRoomId: roomId, amount: 7 },
    ];
    const res = await t.http.post(`${URL}/batch`).set('Authorization', auth).send({ items }).expect(200);
    expect(res.body.results).toEqual([
      { index: 0, status: 201, rechargeId: expect.any(Number) },
      { index: 1, status: 200, rechargeId: first.body.rechargeId },
      { index: 2, status: 409, code: 'IDEMPOTENCY_CONFLICT' },
      { index: 3, status: 400, code: 'VALIDATION_FAILED' },
      { index: 4, status: 404, code: 'AUDIENCE_NOT_FOUND' },
      { index: 5, status: 201, rechargeId: expect.any(Number) },
    ]);
    const stored = await t.db1('recharge').where({ live_room_id: roomId }).sum({ s: 'amount' }).count({ n: '*' }).first();
    expect(Number(stored?.['n'])).toBe(3);
    expect(Number(stored?.['s'])).toBe(200 + 100 + 700);
  });

  it('when a batch is empty or has 501 items, then the whole request is 400 and nothing is stored', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const auth = await t.auth('service');
    await t.http.post(`${URL}/batch`).set('Authorization', auth).send({ items: [] }).expect(400);
    const items = Array.from({ length: 501 }, () => ({ traceId: newTraceId(), audienceId: viewerIds[0], liveRoomId: roomId, amount: 1 }));
    const res = await t.http.post(`${URL}/batch`).set('Authorization', auth).send({ items }).expect(400);
    expect(res.body.errors[0].field).toBe('items');
    expect(await t.db1('recharge').where({ live_room_id: roomId })).toHaveLength(0);
  });

  it('when a viewer batches rewards for another viewer, then those items are 403 and its own are 201', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    const items = [
      { traceId: newTraceId(), audienceId: viewerIds[0], liveRoomId: roomId, amount: 1 },
      { traceId: newTraceId(), audienceId: viewerIds[1], liveRoomId: roomId, amount: 1 },
    ];
    const res = await t.http
      .post(`${URL}/batch`)
      .set('Authorization', await t.auth('audience', viewerIds[0]))
      .send({ items })
      .expect(200);
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 403]);
  });
});

describe('reading rewards', () => {
  it('when a reward is read by id or traceId, then its viewer and admin see it and other viewers get 403', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    const body = { traceId: newTraceId(), audienceId: viewerIds[0], liveRoomId: roomId, amount: '8.88' };
    const created = await t.http
      .post(URL)
      .set('Authorization', await t.auth('audience', viewerIds[0]))
      .send(body)
      .expect(201);
    const byId = await t.http
      .get(`${URL}/${created.body.rechargeId}`)
      .set('Authorization', await t.auth('audience', viewerIds[0]))
      .expect(200);
    expect(byId.body).toEqual(created.body);
    const byTrace = await t.http
      .get(`${URL}/by-trace/${body.traceId}`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect(byTrace.body).toEqual(created.body);
    await t.http
      .get(`${URL}/${created.body.rechargeId}`)
      .set('Authorization', await t.auth('audience', viewerIds[1]))
      .expect(403);
    expect(
      (
        await t.http
          .get(`${URL}/999999999`)
          .set('Authorization', await t.auth('admin'))
          .expect(404)
      ).body.code,
    ).toBe('RECHARGE_NOT_FOUND');
  });
});

describe('TOP10', () => {
  // period=day is the calendar's day: a clock from a fixed noon keeps the answer when a run crosses midnight.
  let ranked: TestPlatform;
  beforeAll(async () => {
    ranked = await createTestPlatform({}, { clock: testClock() });
  });
  afterAll(() => ranked.close());

  it('when TOP10 is asked for, then viewers are ranked by amount with ties to the earlier first reward, at most 10', async () => {
    const { roomId, viewerIds } = await liveStage(ranked, 12);
    const auth = await ranked.auth('service');
    // viewer i gives (i + 1) yuan, except the last two, who tie with viewer 0 and 1.
    for (let i = 0; i < 12; i += 1) {
      const amount = i < 10 ? i + 1 : i - 9;
      await ranked.http
        .post(URL)
        .set('Authorization', auth)
        .send({ traceId: newTraceId(), audienceId: viewerIds[i], liveRoomId: roomId, amount })
        .expect(201);
    }
    await ranked.http
      .post(URL)
      .set('Authorization', auth)
      .send({ traceId: newTraceId(), audienceId: viewerIds[0], liveRoomId: roomId, amount: '0.50' })
      .expect(201);
    const res = await ranked.http.get(`/audience/api/v1/recharge/top10?liveRoomId=${roomId}&period=day`).expect(200);
    expect(res.body.items).toHaveLength(10);
    expect(res.body.items[0]).toMatchObject({
      rank: 1,
      audienceId: viewerIds[9],
      totalAmount: '10.00',
      rewardCount: 1,
      nickname: 'viewer-9',
    });
    expect(res.body.items.map((i: { totalAmount: string }) => i.totalAmount)).toEqual([
      '10.00',
      '9.00',
      '8.00',
      '7.00',
      '6.00',
      '5.00',
      '4.00',
      '3.00',
      '2.00',
      '2.00',
    ]);
    // 2.00 tie: viewer 1 rewarded before viewer 11.
    expect(res.body.items[8].audienceId).toBe(viewerIds[1]);
    expect(res.body.items[9].audienceId).toBe(viewerIds[11]);
    const all = await ranked.http.get(`/audience/api/v1/recharge/top10?liveRoomId=${roomId}`).expect(200);
    expect(all.body.period).toBe('all');
    await ranked.http.get(`/audience/api/v1/recharge/top10?liveRoomId=${roomId}&period=year`).expect(400);
  });
});

describe('a viewer already refused by the rate limit', () => {
  let redis: PrivateRedis;
  let limited: TestPlatform;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    limited = await createTestPlatform({ REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '5' });
    await waitUntil(() => Promise.resolve(limited.redis.isUsable()), 'the platform to reach its private Redis');
  });

  afterAll(async () => {
    await limited.close();
    await redis.dispose();
  });

  it('when its window was seen full, then its next rewards are 429 without asking Redis: even with Redis gone (where the count falls back to memory) it stays refused until the window ends', async () => {
    const { roomId, viewerIds } = await liveStage(limited, 2);
    const [refused, other] = [viewerIds[0]!, viewerIds[1]!];
    const send = async (audienceId: number) =>
      limited.http
        .post(URL)
        .set('Authorization', await limited.auth('service'))
        .send({ traceId: newTraceId('RLK'), audienceId, liveRoomId: roomId, amount: '1.00' });
    for (let i = 0; i < 5; i += 1) expect((await send(refused)).status).toBe(201);
    expect((await send(refused)).status).toBe(429);

    await redis.kill();
    await waitUntil(() => Promise.resolve(!limited.redis.isUsable()), 'the platform to see Redis gone');
    const again = await send(refused);
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(again.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(again.headers['retry-after'])).toBeLessThanOrEqual(60);
    // The memory fallback counts from nothing: a viewer never refused gets through, so the refusal above came from what was seen.
    expect((await send(other)).status).toBe(201);
    expect(await limited.db1('recharge').where({ audience_id: refused })).toHaveLength(5);
  });
});

describe('the rate limit counts rewards, not requests', () => {
  let limited: TestPlatform;

  beforeAll(async () => {
    limited = await createTestPlatform({ RATE_LIMIT_PER_MINUTE: '5' });
  });

  afterAll(() => limited.close());

  const item = (audienceId: number, liveRoomId: number) => ({ traceId: newTraceId('RLB'), audienceId, liveRoomId, amount: '1.00' });

  it('when a batch holds more rewards for one viewer than it has left, then the first ones are 201, the rest 429 RATE_LIMITED, and only those are stored', async () => {
    const { roomId, viewerIds } = await liveStage(limited, 1);
    const viewer = viewerIds[0]!;
    const items = Array.from({ length: 8 }, () => item(viewer, roomId));
    const res = await limited.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', await limited.auth('service'))
      .send({ items })
      .expect(200);
    expect(res.body.results.map((r: { status: number; code?: string }) => `${r.status}${r.code ? ` ${r.code}` : ''}`)).toEqual([
      ...Array(5).fill('201'),
      ...Array(3).fill('429 RATE_LIMITED'),
    ]);
    const stored = await limited.db1('recharge').where({ audience_id: viewer });
    expect(stored.map((r) => r.trace_id).sort()).toEqual(
      items
        .slice(0, 5)
        .map((i) => i.traceId)
        .sort(),
    );
    const single = await limited.http
      .post(URL)
      .set('Authorization', await limited.auth('audience', viewer))
      .send(item(viewer, roomId));
    expect({ status: single.status, code: single.body.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(single.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await limited.db1('recharge').where({ audience_id: viewer })).toHaveLength(5);
  });

  it('when a batch and a single reward are refused by the limit, then each refused reward is counted once as rejected', async () => {
    const { roomId, viewerIds } = await liveStage(limited, 1);
    const viewer = viewerIds[0]!;
    const before = await metricsOf(limited);
    const batch = await limited.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', await limited.auth('service'))
      .send({ items: Array.from({ length: 7 }, () => item(viewer, roomId)) })
      .expect(200);
    expect(batch.body.results.filter((r: { status: number }) => r.status === 429)).toHaveLength(2);
    await limited.http
      .post(URL)
      .set('Authorization', await limited.auth('service'))
      .send(item(viewer, roomId))
      .expect(429);
    const after = await metricsOf(limited);
    const delta = (outcome: string) =>
      metricSample(after, 'recharge_requests_total', { outcome }) - metricSample(before, 'recharge_requests_total', { outcome });
    expect({ created: delta('created'), rejected: delta('rejected') }).toEqual({ created: 5, rejected: 3 });
    expect(
      metricSample(after, 'http_problems_total', { code: 'RATE_LIMITED' }) -
        metricSample(before, 'http_problems_total', { code: 'RATE_LIMITED' }),
    ).toBe(1);
  });

  it("when one batch uses a viewer's whole minute, then even a single reward after it is refused (one batch is not one unit)", async () => {
    const { roomId, viewerIds } = await liveStage(limited, 1);
    const viewer = viewerIds[0]!;
    const auth = await limited.auth('audience', viewer);
    const batch = await limited.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', auth)
      .send({ items: Array.from({ length: 5 }, () => item(viewer, roomId)) })
      .expect(200);
    expect(batch.body.results.every((r: { status: number }) => r.status === 201)).toBe(true);
    expect((await limited.http.post(URL).set('Authorization', auth).send(item(viewer, roomId))).status).toBe(429);
  });

  it('when many single rewards of one viewer arrive at once (counted together in one Redis call per turn), then exactly the limit is 201 and its units are in Redis', async () => {
    const { roomId, viewerIds } = await liveStage(limited, 1);
    const viewer = viewerIds[0]!;
    const auth = await limited.auth('audience', viewer);
    const answers = await Promise.all(
      Array.from({ length: 9 }, () => limited.http.post(URL).set('Authorization', auth).send(item(viewer, roomId))),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 201, 201, 429, 429, 429, 429]);
    expect(await limited.db1('recharge').where({ audience_id: viewer })).toHaveLength(5);
    // The refused units were not counted: the window holds the five granted.
    expect(await limited.redis.client?.get(`rl:rewards:viewer:${viewer}`)).toBe('5');
    expect(await limited.redis.client?.pttl(`rl:rewards:viewer:${viewer}`)).toBeGreaterThan(50_000);
  });

  it('when a service batch mixes viewers, then each viewer is limited on its own', async () => {
    const { roomId, viewerIds } = await liveStage(limited, 2);
    const [a, b] = viewerIds as [number, number];
    const items = [...Array.from({ length: 6 }, () => item(a, roomId)), ...Array.from({ length: 3 }, () => item(b, roomId))];
    const res = await limited.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', await limited.auth('service'))
      .send({ items })
      .expect(200);
    const statuses = res.body.results.map((r: { status: number }) => r.status);
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 201, 201, 201]);
    expect(await limited.db1('recharge').where({ audience_id: a })).toHaveLength(5);
    expect(await limited.db1('recharge').where({ audience_id: b })).toHaveLength(3);
  });

  it('when rewards were refused by the limit, then their units are given back: the viewer is not locked out past its window', async () => {
    const { roomId, viewerIds } = await liveStage(limited, 1);
    const viewer = viewerIds[0]!;
    const auth = await limited.auth('audience', viewer);
    for (let i = 0; i < 4; i += 1) await limited.http.post(URL).set('Authorization', auth).send(item(viewer, roomId)).expect(201);
    const batch = await limited.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', auth)
      .send({ items: Array.from({ length: 20 }, () => item(viewer, roomId)) })
      .expect(200);
    expect(batch.body.results.filter((r: { status: number }) => r.status === 201)).toHaveLength(1);
    const keys = await limited.redis.client!.keys(`${limited.config.redis.keyPrefix}rl:rewards:viewer:${viewer}`);
    expect(keys).toHaveLength(1);
    expect(Number(await limited.redis.client!.get(`rl:rewards:viewer:${viewer}`))).toBe(5);
  });
});
