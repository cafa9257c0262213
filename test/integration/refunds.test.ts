import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FinanceServiceClient } from '../../src/modules/finance/contract';
import { createTestPlatform, fundedAnchor, liveStage, newTraceId, storeBatch, type TestPlatform } from '../support/platform';
import { waitUntil } from '../support/private-redis';

const A = '/audience/api/v1';
const fen = (amount: string) => Math.round(Number(amount) * 100);

/** Finance's refunds fail while `failing` is set: the refund-effects job has to finish them. */
let failing = false;
const flakyFinance = (client: FinanceServiceClient): FinanceServiceClient => ({
  ...client,
  refundReward: (command) => (failing ? Promise.reject(new Error('finance is down (test)')) : client.refundReward(command)),
});

let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform({}, { clientDecorators: { finance: flakyFinance } });
});
afterAll(() => t.close());

async function reward(stage: { roomId: number; viewerIds: number[] }, amount: string, viewer = 0): Promise<number> {
  const res = await t.http
    .post(`${A}/recharge`)
    .set('Authorization', await t.auth('service'))
    .send({ traceId: newTraceId('RFD'), audienceId: stage.viewerIds[viewer], liveRoomId: stage.roomId, amount })
    .expect(201);
  return (res.body as { rechargeId: number }).rechargeId;
}

async function refund(rechargeId: number, reason = 'charged back by the bank') {
  return t.http
    .post(`${A}/recharge/${rechargeId}/refund`)
    .set('Authorization', await t.auth('admin'))
    .send({ reason });
}

async function balance(anchorId: number): Promise<Record<string, string>> {
  return (
    await t.http
      .get(`/finance/api/v1/balances/${anchorId}`)
      .set('Authorization', await t.auth('admin'))
      .expect(200)
  ).body as Record<string, string>;
}

async function figures(roomId: number): Promise<{ totalEarnings: string; rechargeCount: number }> {
  return (await t.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200)).body as {
    totalEarnings: string;
    rechargeCount: number;
  };
}

async function auditClean(anchorIds: number[]): Promise<void> {
  const report = await t.finance.audit({ anchorIds });
  expect(report.breaches).toEqual([]);
  expect(report.clean).toBe(true);
}

describe('refunds', () => {
  it('when a settled reward is refunded, then it reads REFUNDED, leaves the figures, TOP10, stats and consumption, and finance reverses its share; a second call answers the same', async () => {
    const stage = await liveStage(t, 2);
    const big = await reward(stage, '100.00', 0);
    await reward(stage, '50.00', 0);
    await reward(stage, '80.00', 1);
    await t.runSync();
    expect(await balance(stage.anchorId)).toMatchObject({ available: '115.00', totalIncome: '115.00' });

    const first = await refund(big);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ rechargeId: big, amount: '100.00', status: 'REFUNDED' });
    const second = await refund(big, 'another reason');
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const admin = await t.auth('admin');
    expect((await t.http.get(`${A}/recharge/${big}`).set('Authorization', admin).expect(200)).body.status).toBe('REFUNDED');

    expect(await figures(stage.roomId)).toMatchObject({ totalEarnings: '130.00', rechargeCount: 2 });
    const top = (await t.http.get(`${A}/recharge/top10`).query({ liveRoomId: stage.roomId }).expect(200)).body.items;
    expect(
      top.map((i: { audienceId: number; totalAmount: string; rewardCount: number }) => [i.audienceId, i.totalAmount, i.rewardCount]),
    ).toEqual([
      [stage.viewerIds[1], '80.00', 1],
      [stage.viewerIds[0], '50.00', 1],
    ]);
    const consumption = (await t.http.get(`${A}/audiences/${stage.viewerIds[0]}/consumption`).set('Authorization', admin).expect(200)).body;
    expect(consumption).toMatchObject({ totalAmount: '50.00', rewardCount: 1 });
    const stats = (await t.http.get(`/anchor/api/v1/anchors/${stage.anchorId}/stats`).set('Authorization', admin).expect(200)).body;
    expect(stats).toMatchObject({ totalEarnings: '130.00', rewardCount: 2, supporterCount: 2 });
    const sessions = (await t.http.get(`/anchor/api/v1/live-rooms/${stage.roomId}/sessions`).set('Authorization', admin).expect(200)).body;
    expect(sessions.items[0]).toMatchObject({ totalEarnings: '130.00', rechargeCount: 2 });
    // The lists keep every reward, each with its state; the export too.
    const listed = (await t.http.get(`/anchor/api/v1/anchors/${stage.anchorId}/rewards`).set('Authorization', admin).expect(200)).body;
    expect(listed.items.map((i: { rechargeId: number; status: string }) => [i.rechargeId, i.status]).sort()).toEqual(
      [
        [big, 'REFUNDED'],
        ...listed.items
          .filter((i: { rechargeId: number }) => i.rechargeId !== big)
          .map((i: { rechargeId: number }) => [i.rechargeId, 'SUCCESS']),
      ].sort(),
    );
    expect(listed.total).toBe(3);
    const csv = (await t.http.get(`/anchor/api/v1/anchors/${stage.anchorId}/rewards.csv`).set('Authorization', admin).expect(200)).text;
    expect(
      csv
        .trim()
        .split('\n')
        .filter((line) => line.startsWith(`${big},`)),
    ).toEqual([expect.stringMatching(/,100\.00,REFUNDED$/)]);

    // The anchor share of 100.00 at 0.5000 is 50.00: reversed once, whatever the calls.
    expect(await balance(stage.anchorId)).toMatchObject({ available: '65.00', totalIncome: '65.00' });
    await t.runSync();
    expect(await balance(stage.anchorId)).toMatchObject({ available: '65.00', totalIncome: '65.00' });
    await auditClean([stage.anchorId]);

    // The job confirms it once the boards' settle delay has passed; nothing moves a second time.
    await waitUntil(
      async () => (await t.finishRefunds({ confirmAfterMs: 0 })).done >= 0 && (await refundDone(big)),
      'the refund confirmed',
      20_000,
    );
    expect(await figures(stage.roomId)).toMatchObject({ totalEarnings: '130.00', rechargeCount: 2 });
    expect(await balance(stage.anchorId)).toMatchObject({ available: '65.00', totalIncome: '65.00' });
  }, 40_000);

  it('when a reward is refunded before the sync, then finance never settles it and the sync leaves nothing pending', async () => {
    const stage = await liveStage(t, 1);
    const refunded = await reward(stage, '30.00');
    await reward(stage, '12.34');
    expect((await refund(refunded)).status).toBe(200);
    const report = await t.runSync();
    expect(report.pending).toBe(0);
    expect(await balance(stage.anchorId)).toMatchObject({ available: '6.17', totalIncome: '6.17' });
    expect(await figures(stage.roomId)).toMatchObject({ totalEarnings: '12.34', rechargeCount: 1 });
    await auditClean([stage.anchorId]);
  });

  it('when a refund takes available below zero, then withdrawals are refused until income covers it again', async () => {
    const stage = await fundedAnchor(t, '40.00');
    const anchorAuth = await t.auth('anchor', stage.anchorId);
    await t.http
      .post('/finance/api/v1/withdrawals')
      .set('Authorization', anchorAuth)
      .send({ anchorId: stage.anchorId, amount: '30.00', requestId: newTraceId('W') })
      .expect(201);
    const [funding] = (
      await t.http
        .get(`/anchor/api/v1/anchors/${stage.anchorId}/rewards`)
        .set('Authorization', await t.auth('admin'))
        .expect(200)
    ).body.items as Array<{ rechargeId: number }>;
    expect((await refund(funding!.rechargeId)).status).toBe(200);
    expect(await balance(stage.anchorId)).toMatchObject({ available: '-30.00', frozen: '30.00', totalIncome: '0.00' });
    const refused = await t.http
      .post('/finance/api/v1/withdrawals')
      .set('Authorization', anchorAuth)
      .send({ anchorId: stage.anchorId, amount: '10.00', requestId: newTraceId('W') });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('INSUFFICIENT_BALANCE');
    await auditClean([stage.anchorId]);
  });

  it('when refunds race the sync that settles the same rewards, then each is settled and reversed or never settled, and the books add up', async () => {
    const stage = await liveStage(t, 4);
    const items = Array.from({ length: 60 }, (_, i) => ({
      traceId: newTraceId('RACE'),
      audienceId: stage.viewerIds[i % 4],
      liveRoomId: stage.roomId,
      amount: `${1 + (i % 7)}.${String((i * 13) % 100).padStart(2, '0')}`,
    }));
    const ids = await storeBatch(t, items);
    const refundedIds = ids.filter((_, i) => i % 3 === 0);
    const [, statuses] = await Promise.all([t.runSync(), Promise.all(refundedIds.map(async (id) => (await refund(id)).status))]);
    expect(statuses.every((s) => s === 200)).toBe(true);
    await t.runSync();
    // Whatever a refund's own call left undone (a lock wait past its breaker's timeout) the job finishes.
    const booked = async () =>
      Number(
        ((await t.db2('settlement_refund').whereIn('recharge_id', refundedIds).count({ n: '*' }).first()) as { n: number | string }).n,
      );
    const bookedByTheirOwnCalls = await booked();
    await waitUntil(async () => (await t.finishRefunds({ confirmAfterMs: 0 })).failed === 0, 'every refund finished', 20_000);
    expect(await booked()).toBe(refundedIds.length);
    process.stdout.write(
      `refunds racing the sync: ${refundedIds.length} refunds, ${bookedByTheirOwnCalls} booked by finance in their own call, the rest by the job\n`,
    );
    const kept = items.filter((_, i) => i % 3 !== 0).reduce((sum, item) => sum + fen(item.amount), 0);
    // Every kept reward's share at 0.5000 (each split rounds on its own: the anchor gets the floor of half).
    const share = items.filter((_, i) => i % 3 !== 0).reduce((sum, item) => sum + Math.floor(fen(item.amount) / 2), 0);
    const b = await balance(stage.anchorId);
    expect(fen(b.totalIncome!)).toBe(share);
    expect(fen(b.available!)).toBe(share);
    expect(fen((await figures(stage.roomId)).totalEarnings)).toBe(kept);
    await auditClean([stage.anchorId]);
  }, 30_000);

  it('when finance is down during a refund, then the refund still answers REFUNDED and the job books the reversal once finance is back', async () => {
    const stage = await liveStage(t, 1);
    const id = await reward(stage, '20.00');
    await reward(stage, '10.00');
    await t.runSync();
    failing = true;
    try {
      const res = await refund(id);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('REFUNDED');
      expect(await balance(stage.anchorId)).toMatchObject({ available: '15.00' });
      expect(await figures(stage.roomId)).toMatchObject({ totalEarnings: '10.00', rechargeCount: 1 });
      // While finance stays down the job retries finance alone: the room's TOP10 boards were dropped once, not on every run.
      for (let run = 0; run < 3; run += 1) expect(await t.finishRefunds({ confirmAfterMs: 0 })).toMatchObject({ done: 0 });
      expect(await t.redis.client?.get(`top10:room:{${stage.roomId}}:refunds`)).toBe('1');
    } finally {
      failing = false;
    }
    await waitUntil(
      async () => (await t.finishRefunds({ confirmAfterMs: 0 })) && (await refundDone(id)),
      'the refund finished by the job',
      20_000,
    );
    expect(await balance(stage.anchorId)).toMatchObject({ available: '5.00', totalIncome: '5.00' });
    await auditClean([stage.anchorId]);
  }, 40_000);

  it('when finance is down while a reward not yet synced is refunded, then the sync never sends it: nothing is settled even before finance hears of the refund', async () => {
    const stage = await liveStage(t, 1);
    const id = await reward(stage, '40.00');
    failing = true;
    try {
      expect((await refund(id)).status).toBe(200);
      const report = await t.runSync();
      expect(report.pending).toBe(0);
      expect(await balance(stage.anchorId)).toMatchObject({ available: '0.00', totalIncome: '0.00' });
      const row = (await t.db1('recharge').select('sync_status').where({ id }).first()) as { sync_status: string };
      expect(row.sync_status).toBe('REFUNDED');
    } finally {
      failing = false;
    }
    await waitUntil(
      async () => (await t.finishRefunds({ confirmAfterMs: 0 })) && (await refundDone(id)),
      'the refund finished by the job',
      20_000,
    );
    expect(await balance(stage.anchorId)).toMatchObject({ available: '0.00', totalIncome: '0.00' });
    await auditClean([stage.anchorId]);
  }, 40_000);

  it('when the request is not an admin’s, names no reward or has a bad body, then 4xx problem+json and nothing is refunded', async () => {
    const stage = await liveStage(t, 1);
    const id = await reward(stage, '5.00');
    const viewer = await t.auth('audience', stage.viewerIds[0]);
    const forbidden = await t.http.post(`${A}/recharge/${id}/refund`).set('Authorization', viewer).send({ reason: 'mine' });
    expect(forbidden.status).toBe(403);
    expect((await t.http.post(`${A}/recharge/${id}/refund`).send({ reason: 'x' })).status).toBe(401);
    const unknown = await refund(999_999_999);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('RECHARGE_NOT_FOUND');
    const admin = await t.auth('admin');
    for (const body of [{}, { reason: '' }, { reason: '   ' }, { reason: 'x'.repeat(256) }, { reason: 'ok', extra: 1 }, { reason: 7 }]) {
      const res = await t.http.post(`${A}/recharge/${id}/refund`).set('Authorization', admin).send(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    expect((await t.http.post(`${A}/recharge/abc/refund`).set('Authorization', admin).send({ reason: 'x' })).status).toBe(400);
    expect((await t.http.get(`${A}/recharge/${id}`).set('Authorization', admin).expect(200)).body.status).toBe('SUCCESS');
    expect(await figures(stage.roomId)).toMatchObject({ totalEarnings: '5.00', rechargeCount: 1 });
  });
});

async function refundDone(rechargeId: number): Promise<boolean> {
  const row = (await t.db1('recharge_refund').select('done_at').where({ recharge_id: rechargeId }).first()) as
    { done_at: string | null } | undefined;
  return row?.done_at !== null && row?.done_at !== undefined;
}
