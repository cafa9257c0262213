import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { metricSample, metricsOf } from '../support/prometheus';

let t: TestPlatform;
const logLines: string[] = [];

beforeAll(async () => {
  t = await createTestPlatform({}, { logLines });
});

afterAll(() => t.close());

const metrics = () => metricsOf(t);

describe('the log chain of a reward (seed §七)', () => {
  it('when a reward is sent, then received, saved (with rechargeId), anchor called and realtime updated are logged with its trace id', async () => {
    const stage = await liveStage(t, 1);
    const traceId = newTraceId('RC');
    const res = await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .send({ traceId, audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '100.00' })
      .expect(201);
    const mine = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry['traceId'] === traceId);
    const messages = mine.map((entry) => entry['msg']);
    expect(messages).toEqual(
      expect.arrayContaining([
        'reward received',
        'reward saved',
        'calling anchor module',
        'reward notification received',
        'realtime figures updated',
      ]),
    );
    const order = ['reward received', 'reward saved', 'calling anchor module', 'realtime figures updated'].map((m) => messages.indexOf(m));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(mine.find((entry) => entry['msg'] === 'reward saved')).toMatchObject({ rechargeId: res.body.rechargeId });
    expect(mine.find((entry) => entry['msg'] === 'reward received')).toMatchObject({ audienceId: stage.viewerIds[0], amount: '100.00' });
    expect(mine.find((entry) => entry['msg'] === 'realtime figures updated')).toMatchObject({
      key: `live:room:earnings:{${stage.roomId}}`,
    });
  });
});

function linesOf(traceId: string): Array<Record<string, unknown>> {
  return logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry['traceId'] === traceId);
}

const CHAIN = ['reward received', 'reward saved', 'calling anchor module', 'reward notification received', 'realtime figures updated'];

describe('one trace id per request', () => {
  it('when a reward comes without X-Trace-Id, then its traceId is the response header, and the request line and the whole chain carry it', async () => {
    const stage = await liveStage(t, 1);
    const traceId = newTraceId('ONE');
    const res = await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .send({ traceId, audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '1.00' })
      .expect(201);
    expect(res.headers['x-trace-id']).toBe(traceId);
    const mine = linesOf(traceId);
    expect(mine.map((entry) => entry['msg'])).toEqual(expect.arrayContaining([...CHAIN, 'request completed']));
    expect(mine.find((entry) => entry['msg'] === 'request completed')).toMatchObject({ res: { statusCode: 201 } });
    expect(mine.filter((entry) => 'rewardTraceId' in entry)).toEqual([]);
  });

  it('when a reward is refused without X-Trace-Id (401, 403, 409), then the problem, the header and the request line carry the reward traceId', async () => {
    const stage = await liveStage(t, 2);
    const body = (traceId: string, audienceId = stage.viewerIds[0]) => ({ traceId, audienceId, liveRoomId: stage.roomId, amount: '1.00' });
    const taken = newTraceId('TAKEN');
    await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .send(body(taken))
      .expect(201);
    const cases = [
      { traceId: newTraceId('NOAUTH'), authorization: undefined, status: 401 },
      { traceId: newTraceId('OTHER'), authorization: await t.auth('audience', stage.viewerIds[1]), status: 403 },
      { traceId: taken, authorization: await t.auth('service'), status: 409, audienceId: stage.viewerIds[1] },
    ];
    for (const c of cases) {
      const call = t.http.post('/audience/api/v1/recharge');
      if (c.authorization) void call.set('Authorization', c.authorization);
      const res = await call.send(body(c.traceId, c.audienceId));
      expect({ status: res.status, header: res.headers['x-trace-id'], problem: res.body.traceId }).toEqual({
        status: c.status,
        header: c.traceId,
        problem: c.traceId,
      });
      expect(
        linesOf(c.traceId)
          .filter((entry) => entry['msg'] === 'request completed')
          .map((entry) => (entry['res'] as { statusCode: number }).statusCode),
      ).toContain(c.status);
    }
  });

  it('when X-Trace-Id is sent with a reward, then it names the request and the chain, and the reward traceId rides along as rewardTraceId', async () => {
    const stage = await liveStage(t, 1);
    const header = newTraceId('HDR');
    const traceId = newTraceId('BODY');
    const res = await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .set('X-Trace-Id', header)
      .send({ traceId, audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '1.00' })
      .expect(201);
    expect(res.headers['x-trace-id']).toBe(header);
    expect(res.body.traceId).toBe(traceId);
    const mine = linesOf(header);
    expect(mine.map((entry) => entry['msg'])).toEqual(expect.arrayContaining([...CHAIN, 'request completed']));
    for (const entry of mine.filter((e) => CHAIN.includes(e['msg'] as string))) expect(entry['rewardTraceId']).toBe(traceId);
    expect(linesOf(traceId)).toEqual([]);
  });

  it('when a batch comes, then the request has one trace id and each item chain carries it with its own rewardTraceId', async () => {
    const stage = await liveStage(t, 1);
    const items = [newTraceId('B1'), newTraceId('B2')].map((traceId) => ({
      traceId,
      audienceId: stage.viewerIds[0],
      liveRoomId: stage.roomId,
      amount: '1.00',
    }));
    const res = await t.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', await t.auth('service'))
      .send({ items })
      .expect(200);
    const requestId = res.headers['x-trace-id'] as string;
    const mine = linesOf(requestId);
    for (const item of items) {
      const chain = mine.filter((entry) => entry['rewardTraceId'] === item.traceId).map((entry) => entry['msg']);
      expect({ item: item.traceId, chain: [...new Set(chain)].sort() }).toEqual({ item: item.traceId, chain: [...CHAIN].sort() });
    }
    expect(mine.find((entry) => entry['msg'] === 'request completed')).toBeDefined();
  });
});

describe('the five indicators', () => {
  it('when rewards succeed, fail validation and replay, then the counters behind the indicators move by exactly that', async () => {
    const stage = await liveStage(t, 1);
    const before = await metrics();
    const auth = await t.auth('service');
    const body = { traceId: newTraceId('M'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '1.00' };
    await t.http.post('/audience/api/v1/recharge').set('Authorization', auth).send(body).expect(201);
    await t.http.post('/audience/api/v1/recharge').set('Authorization', auth).send(body).expect(200);
    await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', auth)
      .send({ ...body, traceId: newTraceId('M'), liveRoomId: 987_654_321 })
      .expect(404);
    await t.http.get(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime`).expect(200);
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      metricSample(after, name, labels) - metricSample(before, name, labels);

    expect(delta('recharge_requests_total', { outcome: 'created' })).toBe(1);
    expect(delta('recharge_requests_total', { outcome: 'replayed' })).toBe(1);
    expect(delta('recharge_requests_total', { outcome: 'rejected' })).toBe(1);
    expect(delta('recharge_duration_seconds_count', { endpoint: 'single' })).toBe(3);
    expect(delta('anchor_service_calls_total', { method: 'applyReward', outcome: 'success' })).toBe(1);
    // Every reward's room is checked with the anchor module before it is judged, replays included.
    expect(delta('anchor_service_calls_total', { method: 'getRewardTargets', outcome: 'success' })).toBe(3);
    expect(delta('redis_cache_requests_total')).toBeGreaterThanOrEqual(2);
    expect(after).toMatch(/^recharge_sync_pending \d+$/m);
  });

  it('when rewards wait for the sync, then recharge_sync_pending (behind sync_queue_size) counts them, and drops to 0 after the sync', async () => {
    await t.runSync();
    const stage = await liveStage(t, 1);
    const auth = await t.auth('service');
    for (let i = 0; i < 3; i += 1) {
      await t.http
        .post('/audience/api/v1/recharge')
        .set('Authorization', auth)
        .send({ traceId: newTraceId('Q'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '1.00' })
        .expect(201);
    }
    const pending = Number(
      await t
        .db1('recharge')
        // Waiting for the sync: PENDING or CLAIMED (SYNCED, QUARANTINED and REFUNDED ones wait no more).
        .whereIn('sync_status', ['PENDING', 'CLAIMED'])
        .count({ n: '*' })
        .first()
        .then((r) => r?.['n']),
    );
    expect(pending).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 5100));
    expect(metricSample(await metrics(), 'recharge_sync_pending')).toBe(pending);
    await t.runSync();
    await new Promise((r) => setTimeout(r, 5100));
    expect(metricSample(await metrics(), 'recharge_sync_pending')).toBe(0);
  }, 20_000);
});
