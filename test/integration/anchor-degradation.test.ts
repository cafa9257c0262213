import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AnchorServiceClient } from '../../src/modules/anchor/contract';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

/**
 * The anchor module misbehaving behind its contract — each call the reward path makes into it
 * (getRewardTargets before the insert, applyReward after the commit): hanging, then failing, then
 * healthy again. Rewards must stay answered within the breaker's timeout and stored exactly when
 * they can be judged; the breakers must open and close again.
 */
type Mode = 'healthy' | 'hang' | 'fail';
const modes: Record<'getRewardTargets' | 'applyReward', Mode> = { getRewardTargets: 'healthy', applyReward: 'healthy' };
let t: TestPlatform;
const logLines: string[] = [];

function misbehave<A extends unknown[], R>(method: keyof typeof modes, call: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => {
    if (modes[method] === 'hang') return new Promise<R>(() => undefined);
    if (modes[method] === 'fail') return Promise.reject(new Error('anchor module is down'));
    return call(...args);
  };
}

function faulty(client: AnchorServiceClient): AnchorServiceClient {
  return {
    ...client,
    getRewardTargets: misbehave('getRewardTargets', (ids: readonly number[]) => client.getRewardTargets(ids)),
    applyReward: misbehave('applyReward', (command: Parameters<AnchorServiceClient['applyReward']>[0]) => client.applyReward(command)),
  };
}

function heal(): void {
  modes.getRewardTargets = 'healthy';
  modes.applyReward = 'healthy';
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const text = (await t.http.get('/actuator/prometheus').expect(200)).text;
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}

beforeAll(async () => {
  t = await createTestPlatform({ ANCHOR_CALL_TIMEOUT_MS: '100' }, { clientDecorators: { anchor: faulty }, logLines });
});

afterAll(() => t.close());

async function reward(roomId: number, audienceId: number, traceId = newTraceId('AD')) {
  return t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('service'))
    .send({ traceId, audienceId, liveRoomId: roomId, amount: '1.00' });
}

describe('when the anchor module misbehaves after the commit (applyReward)', () => {
  afterAll(heal);

  it('when it hangs, then rewards answer 201 after the short timeout, are stored, and are logged as degraded', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    modes.applyReward = 'hang';
    const traceId = newTraceId('HANG');
    const started = Date.now();
    const res = await reward(roomId, viewerIds[0]!, traceId);
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await t.db1('recharge').where({ id: res.body.rechargeId })).toHaveLength(1);
    expect(await counter('anchor_service_calls_total', { method: 'applyReward', outcome: 'timeout' })).toBeGreaterThanOrEqual(1);
    expect(logLines.some((line) => line.includes(traceId) && line.includes('"degraded":true'))).toBe(true);
  });

  it('when it keeps failing, then the breaker opens (short-circuits), rewards stay 201, and after recovery calls flow again', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    modes.applyReward = 'fail';
    for (let i = 0; i < 15; i += 1) expect((await reward(roomId, viewerIds[0]!)).status).toBe(201);
    expect(await counter('anchor_service_calls_total', { method: 'applyReward', outcome: 'short_circuit' })).toBeGreaterThanOrEqual(1);
    expect(await t.db1('recharge').where({ live_room_id: roomId })).toHaveLength(15);

    heal();
    const successesBefore = await counter('anchor_service_calls_total', { method: 'applyReward', outcome: 'success' });
    const deadline = Date.now() + 15_000;
    while (
      (await counter('anchor_service_calls_total', { method: 'applyReward', outcome: 'success' })) === successesBefore &&
      Date.now() < deadline
    ) {
      expect((await reward(roomId, viewerIds[0]!)).status).toBe(201);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await counter('anchor_service_calls_total', { method: 'applyReward', outcome: 'success' })).toBeGreaterThan(successesBefore);
  }, 30_000);
});

describe('when the anchor module misbehaves before the insert (getRewardTargets)', () => {
  afterAll(heal);

  it('when it hangs, then a room seen a moment ago still takes rewards (201 after the timeout, stored once), judged by its last known state', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    expect((await reward(roomId, viewerIds[0]!)).status).toBe(201);
    modes.getRewardTargets = 'hang';
    const remembered = await counter('reward_room_checks_total', { source: 'remembered' });
    const started = Date.now();
    const res = await reward(roomId, viewerIds[0]!);
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await t.db1('recharge').where({ live_room_id: roomId })).toHaveLength(2);
    expect(await counter('anchor_service_calls_total', { method: 'getRewardTargets', outcome: 'timeout' })).toBeGreaterThanOrEqual(1);
    expect(await counter('reward_room_checks_total', { source: 'remembered' })).toBe(remembered + 1);
  });

  it('when it hangs and the room was never seen, then 503 DEPENDENCY_UNAVAILABLE within the timeout, nothing stored, and the same traceId is 201 once it answers', async () => {
    modes.getRewardTargets = 'healthy';
    const { roomId, viewerIds } = await liveStage(t);
    modes.getRewardTargets = 'hang';
    const traceId = newTraceId('UNSEEN');
    const started = Date.now();
    const res = await reward(roomId, viewerIds[0]!, traceId);
    expect({ status: res.status, code: res.body.code, retryAfter: res.headers['retry-after'] }).toEqual({
      status: 503,
      code: 'DEPENDENCY_UNAVAILABLE',
      retryAfter: '5',
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await t.db1('recharge').where({ trace_id: traceId })).toHaveLength(0);
    heal();
    const retried = await reward(roomId, viewerIds[0]!, traceId);
    expect(retried.status).toBe(201);
    expect(await t.db1('recharge').where({ trace_id: traceId })).toHaveLength(1);
  });

  it('when it keeps failing, then its breaker opens and rewards to rooms seen recently keep being stored; a batch to an unseen room is 503 as a whole and stores none of it', async () => {
    const seen = await liveStage(t);
    expect((await reward(seen.roomId, seen.viewerIds[0]!)).status).toBe(201);
    const unseen = await liveStage(t);
    modes.getRewardTargets = 'fail';
    // The breaker opens once failures pass half of the calls in its 10 s window (earlier tests' successes count too).
    let sent = 0;
    while ((await counter('anchor_service_calls_total', { method: 'getRewardTargets', outcome: 'short_circuit' })) === 0 && sent < 80) {
      expect((await reward(seen.roomId, seen.viewerIds[0]!)).status).toBe(201);
      sent += 1;
    }
    expect(await counter('anchor_service_calls_total', { method: 'getRewardTargets', outcome: 'short_circuit' })).toBeGreaterThanOrEqual(1);
    expect(await t.db1('recharge').where({ live_room_id: seen.roomId })).toHaveLength(1 + sent);

    const items = [newTraceId('BU'), newTraceId('BU')].map((traceId) => ({
      traceId,
      audienceId: unseen.viewerIds[0],
      liveRoomId: unseen.roomId,
      amount: '1.00',
    }));
    const batch = await t.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', await t.auth('service'))
      .send({ items });
    expect({ status: batch.status, code: batch.body.code }).toEqual({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    expect(await t.db1('recharge').where({ live_room_id: unseen.roomId })).toHaveLength(0);
  });
});
