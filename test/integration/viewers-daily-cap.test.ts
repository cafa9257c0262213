import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import type { Response } from 'supertest';
import { testClock, type TestClock } from '../support/clock';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

/** DAILY_REWARD_CAP: most a viewer may reward per calendar day in TIME_ZONE (Asia/Shanghai here). */
const REWARD = '/audience/api/v1/recharge';
const CAP = { DAILY_REWARD_CAP: '100.00' };

let capped: TestPlatform;
/** A second instance on the same DB1, DB2 and Redis, with the same cap. */
let cappedTwin: TestPlatform;
let uncapped: TestPlatform;

// Every platform's clock starts at the same fixed noon, so all of them see one calendar day.
beforeAll(async () => {
  capped = await createTestPlatform(CAP, { clock: testClock() });
  cappedTwin = await createTestPlatform(CAP, { clock: testClock() });
  uncapped = await createTestPlatform({}, { clock: testClock() });
});

afterAll(async () => {
  await Promise.all([capped.close(), cappedTwin.close(), uncapped.close()]);
});

interface RewardOptions {
  traceId?: string;
  platform?: TestPlatform;
}

async function reward(roomId: number, audienceId: number, amount: string, options: RewardOptions = {}): Promise<Response> {
  const t = options.platform ?? capped;
  return t.http
    .post(REWARD)
    .set('Authorization', await t.auth('audience', audienceId))
    .send({ traceId: options.traceId ?? newTraceId('CAP'), audienceId, liveRoomId: roomId, amount });
}

function expectCapRefusal(res: Response): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status: 409, code: 'DAILY_LIMIT_EXCEEDED' });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

/** What DB1 holds for a viewer: reward rows (count, fen), consumption, and the cap's counter per day. */
async function stored(db: Knex, audienceId: number) {
  const rewards = await db('recharge').where({ audience_id: audienceId }).count({ n: '*' }).sum({ s: 'amount' }).first();
  const viewer = await db('audience').where({ id: audienceId }).first();
  const counters = await db('audience_daily_reward').where({ audience_id: audienceId }).orderBy('reward_day');
  return {
    rewardRows: Number(rewards?.['n']),
    rewardFen: Number(rewards?.['s'] ?? 0),
    consumption: { fen: Number(viewer.total_amount), count: Number(viewer.reward_count) },
    counters: counters.map((c: { reward_day: string; amount: number }) => [c.reward_day, Number(c.amount)]),
  };
}

async function realtime(roomId: number): Promise<{ totalEarnings: string; rechargeCount: number }> {
  const res = await capped.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200);
  return { totalEarnings: res.body.totalEarnings, rechargeCount: res.body.rechargeCount };
}

describe('the daily reward cap, one reward at a time', () => {
  it('when rewards reach the cap exactly, then they are stored; one fen more is 409 DAILY_LIMIT_EXCEEDED and stores nothing anywhere', async () => {
    const { roomId, viewerIds } = await liveStage(capped);
    const viewer = viewerIds[0]!;
    expect((await reward(roomId, viewer, '60.00')).status).toBe(201);
    expect((await reward(roomId, viewer, '30.00')).status).toBe(201);
    const over = await reward(roomId, viewer, '20.00');
    expectCapRefusal(over);
    expect(over.body.detail).toContain('90.00');
    expect((await reward(roomId, viewer, '10.00')).status).toBe(201);

    const refusedTrace = newTraceId('CAP');
    expectCapRefusal(await reward(roomId, viewer, '0.01', { traceId: refusedTrace }));
    expect(await capped.db1('recharge').where({ trace_id: refusedTrace })).toHaveLength(0);
    expect(await stored(capped.db1, viewer)).toEqual({
      rewardRows: 3,
      rewardFen: 10000,
      consumption: { fen: 10000, count: 3 },
      counters: [['2026-11-11', 10000]],
    });
    expect(await realtime(roomId)).toEqual({ totalEarnings: '100.00', rechargeCount: 3 });
    const consumption = await capped.http
      .get(`/audience/api/v1/audiences/${viewer}/consumption`)
      .set('Authorization', await capped.auth('admin'))
      .expect(200);
    expect(consumption.body).toMatchObject({ totalAmount: '100.00', rewardCount: 3 });
  });

  it('when a single reward alone is larger than the cap, then it is refused and nothing of it is stored', async () => {
    const { roomId, viewerIds } = await liveStage(capped);
    expectCapRefusal(await reward(roomId, viewerIds[0]!, '100.01'));
    expect(await stored(capped.db1, viewerIds[0]!)).toMatchObject({ rewardRows: 0, rewardFen: 0, consumption: { fen: 0, count: 0 } });
    expect(await realtime(roomId)).toEqual({ totalEarnings: '0.00', rechargeCount: 0 });
  });

  it('when the cap is reached, then a replay of a stored reward is still 200 with its first body, and other content under its traceId is 409 IDEMPOTENCY_CONFLICT', async () => {
    const { roomId, viewerIds } = await liveStage(capped);
    const viewer = viewerIds[0]!;
    const traceId = newTraceId('CAP');
    const first = await reward(roomId, viewer, '100.00', { traceId });
    expect(first.status).toBe(201);
    expectCapRefusal(await reward(roomId, viewer, '1.00'));

    const replay = await reward(roomId, viewer, '100', { traceId });
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    const conflicting = await reward(roomId, viewer, '5.00', { traceId });
    expect({ status: conflicting.status, code: conflicting.body.code }).toEqual({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
    expect(await stored(capped.db1, viewer)).toMatchObject({ rewardRows: 1, rewardFen: 10000, counters: [['2026-11-11', 10000]] });
  });

  it('when the room is not live, then that is the answer even for a viewer at its cap (the cap is the last check)', async () => {
    const { roomId, viewerIds } = await liveStage(capped);
    const viewer = viewerIds[0]!;
    expect((await reward(roomId, viewer, '100.00')).status).toBe(201);
    await capped.http
      .post(`/anchor/api/v1/live-rooms/${roomId}/stop`)
      .set('Authorization', await capped.auth('admin'))
      .expect(200);
    const res = await reward(roomId, viewer, '1.00');
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 409, code: 'LIVE_ROOM_NOT_LIVE' });
  });

  it("when one viewer is at its cap, then another viewer's rewards are not affected", async () => {
    const { roomId, viewerIds } = await liveStage(capped, 2);
    expect((await reward(roomId, viewerIds[0]!, '100.00')).status).toBe(201);
    expect((await reward(roomId, viewerIds[1]!, '100.00')).status).toBe(201);
    expect(await realtime(roomId)).toEqual({ totalEarnings: '200.00', rechargeCount: 2 });
  });
});

describe('the daily reward cap in a batch', () => {
  it('when a batch holds more than a viewer has left, then its items are judged in order, each on its own, and only the admitted ones are stored', async () => {
    const { roomId, viewerIds } = await liveStage(capped, 2);
    const [viewer, other] = viewerIds as [number, number];
    const storedTrace = newTraceId('CAPB');
    expect((await reward(roomId, viewer, '10.00', { traceId: storedTrace })).status).toBe(201);
    const item = (audienceId: number, amount: string, traceId = newTraceId('CAPB')) => ({
      traceId,
      audienceId,
      liveRoomId: roomId,
      amount,
    });
    const items = [
      item(viewer, '30.00'), // 40
      item(viewer, '40.00'), // 80
      item(viewer, '30.00'), // 110: refused
      item(other, '90.00'), // another viewer: its own 90
      item(viewer, '10.00', storedTrace), // a replay: 200, counts nothing again
      item(viewer, '20.00'), // 100
      item(viewer, '0.01'), // refused
    ];
    const res = await capped.http
      .post(`${REWARD}/batch`)
      .set('Authorization', await capped.auth('service'))
      .send({ items })
      .expect(200);
    const results = res.body.results as Array<{ index: number; status: number; code?: string; rechargeId?: number }>;
    expect(results.map((r) => [r.index, r.status, r.code ?? null])).toEqual([
      [0, 201, null],
      [1, 201, null],
      [2, 409, 'DAILY_LIMIT_EXCEEDED'],
      [3, 201, null],
      [4, 200, null],
      [5, 201, null],
      [6, 409, 'DAILY_LIMIT_EXCEEDED'],
    ]);
    expect(results.filter((r) => r.status === 409).every((r) => r.rechargeId === undefined)).toBe(true);
    expect(await capped.db1('recharge').whereIn('trace_id', [items[2]!.traceId, items[6]!.traceId])).toHaveLength(0);
    expect(await stored(capped.db1, viewer)).toMatchObject({
      rewardRows: 4,
      rewardFen: 10000,
      consumption: { fen: 10000, count: 4 },
      counters: [['2026-11-11', 10000]],
    });
    expect(await stored(capped.db1, other)).toMatchObject({ rewardRows: 1, rewardFen: 9000, counters: [['2026-11-11', 9000]] });
    expect(await realtime(roomId)).toEqual({ totalEarnings: '190.00', rechargeCount: 5 });
  });
});

describe('the daily reward cap under concurrency', () => {
  it('when 50 rewards of 10.00 race through two instances against a cap of 100.00, then exactly 10 are stored, to the fen, everywhere', async () => {
    const { roomId, viewerIds } = await liveStage(capped);
    const viewer = viewerIds[0]!;
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => reward(roomId, viewer, '10.00', { platform: i % 2 === 0 ? capped : cappedTwin })),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    answers.filter((a) => a.status === 409).forEach(expectCapRefusal);
    expect(await stored(capped.db1, viewer)).toEqual({
      rewardRows: 10,
      rewardFen: 10000,
      consumption: { fen: 10000, count: 10 },
      counters: [['2026-11-11', 10000]],
    });
    expect(await realtime(roomId)).toEqual({ totalEarnings: '100.00', rechargeCount: 10 });
  });

  it('when 60 rewards of 3.33 race through two instances, then exactly 30 fit (99.90) and the 31st fen-wise would not', async () => {
    const { roomId, viewerIds } = await liveStage(capped);
    const viewer = viewerIds[0]!;
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => reward(roomId, viewer, '3.33', { platform: i % 2 === 0 ? cappedTwin : capped })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(30);
    expect(answers.filter((a) => a.status === 409 && a.body.code === 'DAILY_LIMIT_EXCEEDED')).toHaveLength(30);
    expect(await stored(capped.db1, viewer)).toEqual({
      rewardRows: 30,
      rewardFen: 9990,
      consumption: { fen: 9990, count: 30 },
      counters: [['2026-11-11', 9990]],
    });
    expect((await reward(roomId, viewer, '0.10')).status).toBe(201);
    expectCapRefusal(await reward(roomId, viewer, '0.01'));
  });

  it('when one traceId that reaches the cap races through both instances, then one row, one 201 and only replays — never a cap refusal', async () => {
    const { roomId, viewerIds } = await liveStage(capped);
    const viewer = viewerIds[0]!;
    expect((await reward(roomId, viewer, '90.00')).status).toBe(201);
    const traceId = newTraceId('CAPR');
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => reward(roomId, viewer, '10.00', { traceId, platform: i % 2 === 0 ? capped : cappedTwin })),
    );
    expect(answers.map((a) => a.status).sort((a, b) => a - b)).toEqual([...Array<number>(29).fill(200), 201]);
    expect(new Set(answers.map((a) => a.body.rechargeId)).size).toBe(1);
    expect(await stored(capped.db1, viewer)).toMatchObject({ rewardRows: 2, rewardFen: 10000, counters: [['2026-11-11', 10000]] });
  });
});

describe('the daily reward cap off and turned on', () => {
  it('when no cap is configured, then rewards beyond any cap are stored and no statement touches the counters', async () => {
    const { roomId, viewerIds } = await liveStage(uncapped);
    const viewer = viewerIds[0]!;
    const counterStatements: string[] = [];
    const listener = (query: Knex.Sql) => {
      if (query.sql.includes('audience_daily_reward')) counterStatements.push(query.sql);
    };
    uncapped.db1.on('query', listener);
    try {
      for (const amount of ['100.00', '100.00', '0.01'])
        expect((await reward(roomId, viewer, amount, { platform: uncapped })).status).toBe(201);
    } finally {
      uncapped.db1.off('query', listener);
    }
    expect(counterStatements).toEqual([]);
    expect(await stored(uncapped.db1, viewer)).toEqual({
      rewardRows: 3,
      rewardFen: 20001,
      consumption: { fen: 20001, count: 3 },
      counters: [],
    });
  });

  it('when the cap is turned on during the day, then what the viewer rewarded earlier that day counts', async () => {
    const { roomId, viewerIds } = await liveStage(uncapped);
    const viewer = viewerIds[0]!;
    expect((await reward(roomId, viewer, '80.00', { platform: uncapped })).status).toBe(201);
    expectCapRefusal(await reward(roomId, viewer, '30.00'));
    expect((await reward(roomId, viewer, '20.00')).status).toBe(201);
    expect(await stored(capped.db1, viewer)).toMatchObject({ rewardRows: 2, rewardFen: 10000, counters: [['2026-11-11', 10000]] });
  });
});

describe('the daily reward cap follows the calendar day in Asia/Shanghai', () => {
  let clock: TestClock;
  let t: TestPlatform;
  beforeAll(async () => {
    clock = testClock();
    t = await createTestPlatform({ ...CAP, TIME_ZONE: 'Asia/Shanghai' }, { clock });
  });
  afterAll(() => t.close());

  it('when Shanghai midnight passes, then the viewer may reward a full cap again; UTC midnight changes nothing', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const viewer = viewerIds[0]!;
    const send = (amount: string) => reward(roomId, viewer, amount, { platform: t });

    clock.stopAt(new Date('2026-11-11T15:59:59.999Z')); // 23:59:59.999 on 11 November in Shanghai
    expect((await send('100.00')).status).toBe(201);
    expectCapRefusal(await send('0.01'));

    clock.stopAt(new Date('2026-11-11T16:00:00.000Z')); // 00:00 on 12 November in Shanghai
    const nextDay = await send('100.00');
    expect(nextDay.status).toBe(201);
    expect(nextDay.body.createdAt).toBe('2026-11-11T16:00:00.000Z');
    expectCapRefusal(await send('0.01'));

    clock.stopAt(new Date('2026-11-12T00:00:00.000Z')); // UTC midnight: 08:00 on 12 November in Shanghai, the same day
    expectCapRefusal(await send('0.01'));
    clock.stopAt(new Date('2026-11-12T15:59:59.999Z')); // the last moment of 12 November in Shanghai
    expectCapRefusal(await send('0.01'));

    expect(await stored(t.db1, viewer)).toEqual({
      rewardRows: 2,
      rewardFen: 20000,
      consumption: { fen: 20000, count: 2 },
      counters: [
        ['2026-11-11', 10000],
        ['2026-11-12', 10000],
      ],
    });
  });
});
