import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AnchorServiceClient } from '../../src/modules/anchor/contract';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

/**
 * The anchor module misbehaving behind its contract: hanging, then failing, then healthy again.
 * Rewards must stay 201 and stored; the breaker must open and close again.
 */
type Mode = 'healthy' | 'hang' | 'fail';
let mode: Mode = 'healthy';
let t: TestPlatform;
const logLines: string[] = [];

function faulty(client: AnchorServiceClient): AnchorServiceClient {
  return {
    ...client,
    applyReward: (command) => {
      if (mode === 'hang') return new Promise(() => undefined);
      if (mode === 'fail') return Promise.reject(new Error('anchor module is down'));
      return client.applyReward(command);
    },
  };
}

async function counter(outcome: string): Promise<number> {
  const text = (await t.http.get('/actuator/prometheus').expect(200)).text;
  const match = new RegExp(`^anchor_service_calls_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

beforeAll(async () => {
  t = await createTestPlatform({ ANCHOR_CALL_TIMEOUT_MS: '100' }, { anchorClientDecorator: faulty, logLines });
});

afterAll(() => t.close());

describe('when the anchor module misbehaves', () => {
  it('when it hangs, then rewards answer 201 after the short timeout, are stored, and are logged as degraded', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    mode = 'hang';
    const traceId = newTraceId('HANG');
    const started = Date.now();
    const res = await t.http.post('/audience/api/v1/recharge').set('Authorization', await t.auth('service')).send({ traceId, audienceId: viewerIds[0], liveRoomId: roomId, amount: '1.00' }).expect(201);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await t.db1('recharge').where({ id: res.body.rechargeId })).toHaveLength(1);
    expect(await counter('timeout')).toBeGreaterThanOrEqual(1);
    expect(logLines.some((line) => line.includes(traceId) && line.includes('"degraded":true'))).toBe(true);
  });

  it('when it keeps failing, then the breaker opens (short-circuits), rewards stay 201, and after recovery calls flow again', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    mode = 'fail';
    const auth = await t.auth('service');
    for (let i = 0; i < 15; i += 1) {
      await t.http.post('/audience/api/v1/recharge').set('Authorization', auth).send({ traceId: newTraceId('FAIL'), audienceId: viewerIds[0], liveRoomId: roomId, amount: '1.00' }).expect(201);
    }
    expect(await counter('short_circuit')).toBeGreaterThanOrEqual(1);
    expect(await t.db1('recharge').where({ live_room_id: roomId })).toHaveLength(15);

    mode = 'healthy';
    const successesBefore = await counter('success');
    const deadline = Date.now() + 15_000;
    while ((await counter('success')) === successesBefore && Date.now() < deadline) {
      await t.http.post('/audience/api/v1/recharge').set('Authorization', auth).send({ traceId: newTraceId('BACK'), audienceId: viewerIds[0], liveRoomId: roomId, amount: '1.00' }).expect(201);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await counter('success')).toBeGreaterThan(successesBefore);
  }, 30_000);
});
