import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { AnchorServiceClient } from '../../src/modules/anchor/contract';
import { AppError } from '../../src/shared/http/app-error';
import { REDIS_KEY_PREFIX } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

/**
 * The reward sweep when some of a page's applies fail: what was applied stays applied (and counted
 * once), the cursor stops before the first failure so the next run tries it again, and a reward the
 * anchor module refuses with a 4xx (its room is gone) is skipped instead of holding up every later
 * reward for good.
 */
let losing = false;
const failOnce = new Set<number>();
const refused = new Set<number>();
const calls = new Map<number, number>();

function scripted(client: AnchorServiceClient): AnchorServiceClient {
  return {
    ...client,
    applyReward: (command) => {
      const id = command.rechargeId;
      if (losing) return Promise.resolve({ liveRoomId: command.liveRoomId, totalEarningsFen: 0, rechargeCount: 0, degraded: false });
      calls.set(id, (calls.get(id) ?? 0) + 1);
      if (refused.has(id)) return Promise.reject(AppError.notFound('LIVE_ROOM_NOT_FOUND', 'There is no such live room.'));
      if (failOnce.delete(id)) return Promise.reject(new Error('the anchor module failed this once'));
      return client.applyReward(command);
    },
  };
}

describe('reward sweep with failing applies', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    // A key prefix of its own: the sweep's cursor starts from this file's rewards' window. The failures
    // tested are scripted rejections; an apply must not time out at the 500 ms default while this loaded
    // test process stalls (it did in CI, failing the backlog's sweep below), hence 5 s.
    t = await createTestPlatform(
      { REWARD_SWEEP_DELAY_MS: '1', REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}sweep:`, ANCHOR_CALL_TIMEOUT_MS: '5000' },
      { clientDecorators: { anchor: scripted } },
    );
    // Rewards of earlier files in this worker's database are applied now, not in the middle of a test.
    await t.healRealtime();
  });

  afterAll(() => t.close());

  beforeEach(() => calls.clear());

  async function rewardsWhoseNotificationIsLost(count: number): Promise<{ roomId: number; ids: number[] }> {
    const stage = await liveStage(t, 1);
    const auth = await t.auth('service');
    const ids: number[] = [];
    losing = true;
    for (let i = 0; i < count; i += 1) {
      const response = await t.http
        .post('/audience/api/v1/recharge')
        .set('Authorization', auth)
        .send({ traceId: newTraceId('SWEEP'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '1.00' })
        .expect(201);
      ids.push(Number((response.body as { rechargeId: number | string }).rechargeId));
    }
    losing = false;
    return { roomId: stage.roomId, ids };
  }

  async function counted(roomId: number): Promise<number> {
    return ((await t.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200)).body as { rechargeCount: number }).rechargeCount;
  }

  async function sweptMetric(): Promise<number> {
    const text = (await t.http.get('/actuator/prometheus').expect(200)).text;
    return Number(/^reward_sweep_applied_total (\d+)/m.exec(text)?.[1] ?? 0);
  }

  it('when one apply in the middle of a page fails, then the others stay applied and only the failed one and those after it are looked at again', async () => {
    const { roomId, ids } = await rewardsWhoseNotificationIsLost(6);
    // The fault is set up: none of the six is counted.
    expect(await counted(roomId)).toBe(0);
    const failing = ids[3] as number;
    failOnce.add(failing);
    await new Promise((r) => setTimeout(r, 10));

    const metricBefore = await sweptMetric();
    await expect(t.healRealtime()).rejects.toMatchObject({ message: 'the anchor module failed this once' });
    expect(await counted(roomId)).toBe(5);
    // The failed run still reports what it applied.
    expect((await sweptMetric()) - metricBefore).toBe(5);
    expect(ids.map((id) => calls.get(id) ?? 0)).toEqual([1, 1, 1, 1, 1, 1]);

    const second = await t.healRealtime();
    expect(await counted(roomId)).toBe(6);
    // Only the failed one is applied again: the ones after it are counted already, the ones before are behind the cursor.
    expect(ids.map((id) => calls.get(id) ?? 0)).toEqual([1, 1, 1, 2, 1, 1]);
    expect(second.sweep.applied).toBe(1);
    expect((await sweptMetric()) - metricBefore).toBe(6);

    await t.healRealtime();
    expect(ids.map((id) => calls.get(id) ?? 0)).toEqual([1, 1, 1, 2, 1, 1]);
  });

  it('when the anchor module refuses a reward with a 4xx, then the sweep skips it and goes on with the rewards after it', async () => {
    const { roomId, ids } = await rewardsWhoseNotificationIsLost(4);
    expect(await counted(roomId)).toBe(0);
    refused.add(ids[1] as number);
    await new Promise((r) => setTimeout(r, 10));

    const first = await t.healRealtime();
    expect(first.sweep.applied).toBeGreaterThanOrEqual(3);
    expect(await counted(roomId)).toBe(3);

    await t.healRealtime();
    await t.healRealtime();
    // Asked once, never again: the cursor went past it.
    expect(ids.map((id) => calls.get(id) ?? 0)).toEqual([1, 1, 1, 1]);
    refused.clear();
  });
});
