import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AudienceServiceClient } from '../../src/modules/audience/contract';
import type { FinanceServiceClient } from '../../src/modules/finance/contract';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

/**
 * The other cross-module calls around a reward, each hanging behind its contract: finance taking
 * a settlement batch, and the audience module answering "is this a stored reward?" for finance
 * and for the anchor module's internal endpoint. Every one is cut off by its breaker's timeout,
 * answers 503, leaves nothing half-done, and works again once the module answers.
 */
const hanging = { batchSync: false, storedRewards: false };
let t: TestPlatform;

function hangWhen<A extends unknown[], R>(flag: keyof typeof hanging, call: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => (hanging[flag] ? new Promise<R>(() => undefined) : call(...args));
}

beforeAll(async () => {
  t = await createTestPlatform(
    { MODULE_CALL_TIMEOUT_MS: '300', ANCHOR_CALL_TIMEOUT_MS: '200' },
    {
      clientDecorators: {
        finance: (client: FinanceServiceClient) => ({
          ...client,
          batchSync: hangWhen('batchSync', (command) => client.batchSync(command)),
        }),
        audience: (client: AudienceServiceClient) => ({
          ...client,
          storedRewards: hangWhen('storedRewards', (ids) => client.storedRewards(ids)),
        }),
      },
    },
  );
});

afterAll(() => t.close());

async function rewardsInNewRoom(count: number) {
  const stage = await liveStage(t, 1);
  const items = Array.from({ length: count }, () => ({
    traceId: newTraceId('MD'),
    audienceId: stage.viewerIds[0],
    liveRoomId: stage.roomId,
    amount: '1.00',
  }));
  const res = await t.http
    .post('/audience/api/v1/recharge/batch')
    .set('Authorization', await t.auth('service'))
    .send({ items })
    .expect(200);
  return { ...stage, ids: (res.body.results as Array<{ rechargeId: number }>).map((r) => r.rechargeId) };
}

async function trigger() {
  const started = Date.now();
  const res = await t.http.post('/audience/api/v1/sync/trigger').set('Authorization', await t.auth('admin'));
  return { res, ms: Date.now() - started };
}

async function syncStates(ids: number[]): Promise<string[]> {
  return [
    ...new Set((await t.db1('recharge').whereIn('id', ids).select('sync_status')).map((r: { sync_status: string }) => r.sync_status)),
  ];
}

describe.each([
  ['finance hangs taking the batch', 'batchSync'],
  ['the audience module hangs when finance checks the records', 'storedRewards'],
] as const)('when %s', (_name, flag) => {
  afterAll(() => {
    hanging[flag] = false;
  });

  it('then the sync trigger answers 503 within the timeout, the claim is given back, nothing is settled, and the next run settles each reward once', async () => {
    const stage = await rewardsInNewRoom(3);
    hanging[flag] = true;
    const { res, ms } = await trigger();
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    expect(ms).toBeLessThan(3000);
    expect(await syncStates(stage.ids)).toEqual(['PENDING']);
    expect(await t.db2('settlement_detail').whereIn('recharge_id', stage.ids)).toHaveLength(0);

    hanging[flag] = false;
    // The breaker may still be open from the timeouts: it lets a trial call through after 5 s.
    let settledRun = await trigger();
    const deadline = Date.now() + 10_000;
    while (settledRun.res.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      settledRun = await trigger();
    }
    expect(settledRun.res.status).toBe(200);
    const details = await t.db2('settlement_detail').whereIn('recharge_id', stage.ids);
    expect(details.map((d: { recharge_id: number }) => d.recharge_id).sort()).toEqual([...stage.ids].sort());
    expect(await syncStates(stage.ids)).toEqual(['SYNCED']);
  }, 20_000);
});

describe('when the audience module hangs as the anchor module checks a reward on its internal endpoint', () => {
  afterAll(() => {
    hanging.storedRewards = false;
  });

  it('then the internal endpoint answers 503 within the reward-path timeout and counts nothing; a reward sent meanwhile is 201 as usual', async () => {
    const stage = await liveStage(t, 1);
    const sent = await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .send({ traceId: newTraceId('MDR'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '3.00' })
      .expect(201);
    hanging.storedRewards = true;
    const started = Date.now();
    const res = await t.http
      .post('/anchor/api/v1/live-rooms/realtime/reward')
      .set('Authorization', await t.auth('internal'))
      .send({
        rechargeId: sent.body.rechargeId,
        traceId: sent.body.traceId,
        liveRoomId: stage.roomId,
        audienceId: stage.viewerIds[0],
        amount: '3.00',
      });
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2000);
    // The in-process reward path notifies the anchor module directly (the owner of the rewards calls it): unaffected.
    await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .send({ traceId: newTraceId('MDR'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '4.00' })
      .expect(201);
    const figures = await t.http.get(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime`).expect(200);
    expect(figures.body).toMatchObject({ totalEarnings: '7.00', rechargeCount: 2 });
  });
});
