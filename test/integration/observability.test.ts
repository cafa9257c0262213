import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

let t: TestPlatform;
const logLines: string[] = [];

beforeAll(async () => {
  t = await createTestPlatform({}, { logLines });
});

afterAll(() => t.close());

function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[3] ?? '').split(',');
    if (wanted.every((w) => have.includes(w))) total += Number(match[4]);
  }
  return total;
}

async function metrics(): Promise<string> {
  return (await t.http.get('/actuator/prometheus').expect(200)).text;
}

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
    expect(messages).toEqual(expect.arrayContaining(['reward received', 'reward saved', 'calling anchor module', 'reward notification received', 'realtime figures updated']));
    const order = ['reward received', 'reward saved', 'calling anchor module', 'realtime figures updated'].map((m) => messages.indexOf(m));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(mine.find((entry) => entry['msg'] === 'reward saved')).toMatchObject({ rechargeId: res.body.rechargeId });
    expect(mine.find((entry) => entry['msg'] === 'reward received')).toMatchObject({ audienceId: stage.viewerIds[0], amount: '100.00' });
    expect(mine.find((entry) => entry['msg'] === 'realtime figures updated')).toMatchObject({ key: `live:room:earnings:{${stage.roomId}}` });
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
    await t.http.post('/audience/api/v1/recharge').set('Authorization', auth).send({ ...body, traceId: newTraceId('M'), liveRoomId: 987_654_321 }).expect(404);
    await t.http.get(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime`).expect(200);
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

    expect(delta('recharge_requests_total', { outcome: 'created' })).toBe(1);
    expect(delta('recharge_requests_total', { outcome: 'replayed' })).toBe(1);
    expect(delta('recharge_requests_total', { outcome: 'rejected' })).toBe(1);
    expect(delta('recharge_duration_seconds_count', { endpoint: 'single' })).toBe(3);
    expect(delta('anchor_service_calls_total', { outcome: 'success' })).toBe(1);
    expect(delta('redis_cache_requests_total')).toBeGreaterThanOrEqual(2);
    expect(after).toMatch(/^recharge_sync_pending \d+$/m);
  });

  it('when rewards wait for the sync, then recharge_sync_pending (behind sync_queue_size) counts them, and drops to 0 after the sync', async () => {
    await t.runSync();
    const stage = await liveStage(t, 1);
    const auth = await t.auth('service');
    for (let i = 0; i < 3; i += 1) {
      await t.http.post('/audience/api/v1/recharge').set('Authorization', auth).send({ traceId: newTraceId('Q'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '1.00' }).expect(201);
    }
    const pending = Number(await t.db1('recharge').whereNot('sync_status', 'SYNCED').count({ n: '*' }).first().then((r) => r?.['n']));
    expect(pending).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 5100));
    expect(sample(await metrics(), 'recharge_sync_pending')).toBe(pending);
    await t.runSync();
    await new Promise((r) => setTimeout(r, 5100));
    expect(sample(await metrics(), 'recharge_sync_pending')).toBe(0);
  }, 20_000);
});
