import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ReconciliationReport } from '../../src/modules/analytics';
import type { AnchorServiceClient } from '../../src/modules/anchor/contract';
import { createTestPlatform, liveStage, newTraceId, testEnvironment, type TestPlatform } from '../support/platform';
import { PrivateRedis, waitUntil } from '../support/private-redis';

const ROOT = resolve(__dirname, '../..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** Reconciliation judges rewards older than a few seconds; these platforms look from a minute ahead. */
const ahead = () => new Date(Date.now() + 60_000);

let anchorDown = false;
function switchable(client: AnchorServiceClient): AnchorServiceClient {
  return {
    ...client,
    applyReward: (command) => (anchorDown ? Promise.reject(new Error('anchor module is down')) : client.applyReward(command)),
  };
}

async function sendRewards(t: TestPlatform, stage: { roomId: number; viewerIds: number[] }, count: number): Promise<void> {
  const auth = await t.auth('service');
  for (let i = 0; i < count; i += 1) {
    await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', auth)
      .send({
        traceId: newTraceId('RECON'),
        audienceId: stage.viewerIds[i % stage.viewerIds.length],
        liveRoomId: stage.roomId,
        amount: `${i + 1}.25`,
      })
      .expect(201);
  }
}

async function truth(t: TestPlatform, roomId: number): Promise<{ count: number; amount: string }> {
  const row = await t.db1('recharge').where({ live_room_id: roomId }).sum({ s: 'amount' }).count({ n: '*' }).first();
  const fen = Number(row?.['s'] ?? 0);
  return { count: Number(row?.['n']), amount: `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}` };
}

async function figures(t: TestPlatform, roomId: number): Promise<{ count: number; amount: string }> {
  const body = (await t.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200)).body;
  return { count: body.rechargeCount, amount: body.totalEarnings };
}

const driftOf = (report: ReconciliationReport, roomId: number) => report.realtime.drifted.find((d) => d.liveRoomId === roomId);

/** One anchor's part of a finance report (tests share a worker's databases, so others may drift). */
function financeDriftOf(report: ReconciliationReport, anchorId: number) {
  return {
    drifted: report.finance.drifted.some((d) => d.anchorId === anchorId),
    phantoms: report.finance.phantoms.filter((p) => p.anchorId === anchorId),
    unbalanced: report.finance.balanceMismatches.some((m) => m.anchorId === anchorId),
  };
}

describe('reconciliation of realtime figures', () => {
  let t: TestPlatform;
  let reconciler: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({}, { clientDecorators: { anchor: switchable } });
    reconciler = await createTestPlatform({}, { clock: ahead });
  });
  afterAll(async () => {
    await Promise.all([t.close(), reconciler.close()]);
  });

  it('when rewards were made while the anchor module was down, then reconcile reports the room and --repair makes it exact', async () => {
    const stage = await liveStage(t, 2);
    await sendRewards(t, stage, 3);
    anchorDown = true;
    try {
      await sendRewards(t, stage, 4);
    } finally {
      anchorDown = false;
    }
    const expected = await truth(t, stage.roomId);
    expect(expected.count).toBe(7);
    expect((await figures(t, stage.roomId)).count).toBe(3);

    const report = await reconciler.reconcile({ repair: false });
    expect(driftOf(report, stage.roomId)).toMatchObject({ expected, counted: { count: 3 }, rowMatchesJournal: true });
    expect(report.clean).toBe(false);
    expect((await figures(t, stage.roomId)).count).toBe(3);

    const repaired = await reconciler.reconcile({ repair: true });
    expect(repaired.realtime.repaired).toContainEqual({ liveRoomId: stage.roomId, applied: 4, removed: 0 });
    expect(repaired.realtime.remaining).toBe(0);
    expect(await figures(t, stage.roomId)).toEqual(expected);

    const again = await reconciler.reconcile({ repair: false });
    expect(driftOf(again, stage.roomId)).toBeUndefined();
  });

  it('when a room’s row disagrees with its journal, or the journal names a reward that does not exist, then --repair fixes both', async () => {
    const stage = await liveStage(t, 1);
    await sendRewards(t, stage, 5);
    await t.flushRealtime();
    await t.db1('live_room_realtime').where({ live_room_id: stage.roomId }).update({ total_earnings: 1, recharge_count: 99 });
    // A reward that existed once and is gone: its id is below the bound but in no room of the reward table.
    const ghost = {
      trace_id: newTraceId('GHOST'),
      audience_id: stage.viewerIds[0],
      live_room_id: stage.roomId,
      anchor_id: stage.anchorId,
      amount: 777,
      created_at: '2026-01-01 00:00:00.000',
    };
    const [ghostId] = await t.db1('recharge').insert(ghost);
    await sendRewards(t, stage, 1);
    await t.db1('recharge').where({ id: ghostId }).delete();
    await t
      .db1('live_room_applied_reward')
      .insert({ recharge_id: ghostId, live_room_id: stage.roomId, amount: 777, flush_id: null, applied_at: '2026-01-01 00:00:00.000' });
    const report = await reconciler.reconcile({ repair: true });
    expect(driftOf(report, stage.roomId)).toMatchObject({ rowMatchesJournal: false });
    expect(report.realtime.repaired).toContainEqual({ liveRoomId: stage.roomId, applied: 0, removed: 1 });
    expect(await figures(t, stage.roomId)).toEqual(await truth(t, stage.roomId));
  });

  // Last in this group: its 1,200 refused notifications leave the reward path's breaker open for a while.
  it('when a room missed more rewards than one repair transaction takes, then --repair counts them all, a chunk of 500 per transaction', async () => {
    const stage = await liveStage(t, 2);
    const auth = await t.auth('service');
    anchorDown = true;
    try {
      for (let batch = 0; batch < 3; batch += 1) {
        const items = Array.from({ length: 400 }, (_, i) => ({
          traceId: newTraceId('RECON-MANY'),
          audienceId: stage.viewerIds[i % 2],
          liveRoomId: stage.roomId,
          amount: `${1 + (i % 7)}.${String(i % 100).padStart(2, '0')}`,
        }));
        const results = (
          (await t.http.post('/audience/api/v1/recharge/batch').set('Authorization', auth).send({ items }).expect(200)).body as {
            results: Array<{ status: number }>;
          }
        ).results;
        expect(results.filter((r) => r.status === 201)).toHaveLength(400);
      }
    } finally {
      anchorDown = false;
    }
    expect((await figures(t, stage.roomId)).count).toBe(0);

    const begins: string[] = [];
    const onQuery = (query: { sql: string }) => {
      if (/^begin/i.test(query.sql)) begins.push(query.sql);
    };
    reconciler.db1.on('query', onQuery);
    let repaired: ReconciliationReport;
    try {
      repaired = await reconciler.reconcile({ repair: true });
    } finally {
      reconciler.db1.off('query', onQuery);
    }
    expect(repaired.realtime.repaired).toContainEqual({ liveRoomId: stage.roomId, applied: 1200, removed: 0 });
    expect(await figures(t, stage.roomId)).toEqual(await truth(t, stage.roomId));
    // 1,200 rewards in three chunks (the page of 2,000 splits 500 + 500 + 200), not one transaction each.
    expect(begins.length).toBeLessThan(50);
  });
});

describe('reconciliation after Redis lost its deltas', () => {
  let redis: PrivateRedis;
  let t: TestPlatform;
  let reconciler: TestPlatform;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await createTestPlatform({ REDIS_URL: redis.url, REALTIME_FLUSH_THRESHOLD: '1000' });
    reconciler = await createTestPlatform({ REDIS_URL: redis.url }, { clock: ahead });
  });
  afterAll(async () => {
    await Promise.all([t.close(), reconciler.close()]);
    await redis.dispose();
  });

  it('when a Redis without persistence restarts empty, then the lost pending rewards are found and counted again', async () => {
    const stage = await liveStage(t, 2);
    await sendRewards(t, stage, 6);
    await redis.kill();
    await redis.restart();
    await waitUntil(() => Promise.resolve(t.redis.isUsable()), 'Redis usable again', 10_000);
    expect((await figures(t, stage.roomId)).count).toBe(0);

    const report = await reconciler.reconcile({ repair: true });
    expect(report.realtime.repaired).toContainEqual({ liveRoomId: stage.roomId, applied: 6, removed: 0 });
    expect(await figures(t, stage.roomId)).toEqual(await truth(t, stage.roomId));
  });
});

describe('reconciliation of finance', () => {
  let t: TestPlatform;
  let reconciler: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
    reconciler = await createTestPlatform({}, { clock: ahead });
  });
  afterAll(async () => {
    await Promise.all([t.close(), reconciler.close()]);
  });

  it('when settlements or a balance are tampered with, then the anchor is reported; the CLI exits 3 while drift remains', async () => {
    const stage = await liveStage(t, 2);
    await sendRewards(t, stage, 4);
    await t.runSync();
    const clean = await reconciler.reconcile({ repair: false });
    expect(clean.finance.drifted.find((d) => d.anchorId === stage.anchorId)).toBeUndefined();
    expect(clean.finance.balanceMismatches.find((m) => m.anchorId === stage.anchorId)).toBeUndefined();

    const lost = await t.db2('settlement_detail').where({ anchor_id: stage.anchorId }).orderBy('id').first();
    await t.db2('settlement_detail').where({ id: lost.id }).delete();
    await t
      .db2('anchor_balance')
      .where({ anchor_id: stage.anchorId })
      .update({ available: t.db2.raw('available + 1') });
    const report = await reconciler.reconcile({ repair: false });
    expect(report.finance.drifted.find((d) => d.anchorId === stage.anchorId)).toMatchObject({
      synced: { count: 4 },
      settled: { count: 3 },
    });
    expect(report.finance.balanceMismatches.find((m) => m.anchorId === stage.anchorId)).toBeDefined();
    expect(report.clean).toBe(false);

    const env = { ...process.env, ...testEnvironment() } as Record<string, string>;
    const cli = await promisify(execFile)(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/cli.ts'), 'reconcile'], {
      cwd: ROOT,
      env,
    }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(cli.code).toBe(3);
    const printed = JSON.parse(cli.stdout) as ReconciliationReport;
    expect(printed.clean).toBe(false);
    expect(printed.finance.balanceMismatches.map((m) => m.anchorId)).toContain(stage.anchorId);
  }, 60_000);
});

/**
 * The state the trust hole of issue 7 left behind (finance settled a record it never checked; the
 * realtime endpoint counted one): written straight into the databases as the old code wrote it.
 */
async function nextRechargeId(t: TestPlatform): Promise<number> {
  const [rows] = (await t.db1.raw(
    "SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'recharge'",
  )) as [Array<{ next: number }>];
  return Number(rows[0]?.next);
}

async function forgeSettlement(
  t: TestPlatform,
  forged: { rechargeId: number; anchorId: number; liveRoomId: number; audienceId: number; amountFen: number },
): Promise<void> {
  const now = '2026-06-01 00:00:00.000';
  const share = Math.floor(forged.amountFen / 2);
  await t.db2.transaction(async (trx) => {
    const [settlementId] = await trx('settlement').insert({
      batch_id: newTraceId('FORGED'),
      anchor_id: forged.anchorId,
      record_count: 1,
      total_amount: forged.amountFen,
      anchor_amount: share,
      platform_amount: forged.amountFen - share,
      created_at: now,
    });
    await trx('settlement_detail').insert({
      settlement_id: settlementId,
      recharge_id: forged.rechargeId,
      trace_id: newTraceId('FORGED'),
      anchor_id: forged.anchorId,
      live_room_id: forged.liveRoomId,
      audience_id: forged.audienceId,
      amount: forged.amountFen,
      rate_bp: 5000,
      anchor_amount: share,
      platform_amount: forged.amountFen - share,
      recharge_created_at: now,
      created_at: now,
    });
    await trx('anchor_balance')
      .insert({ anchor_id: forged.anchorId, available: 0, frozen: 0, total_income: 0, total_withdrawn: 0, updated_at: now })
      .onConflict('anchor_id')
      .ignore();
    await trx('anchor_balance')
      .where({ anchor_id: forged.anchorId })
      .update({ available: trx.raw('available + ?', [share]), total_income: trx.raw('total_income + ?', [share]) });
    const balance = await trx('anchor_balance').where({ anchor_id: forged.anchorId }).first();
    await trx('balance_ledger').insert({
      anchor_id: forged.anchorId,
      entry_type: 'SETTLEMENT',
      available_delta: share,
      frozen_delta: 0,
      available_after: balance.available,
      frozen_after: 0,
      ref_type: 'settlement',
      ref_id: settlementId,
      created_at: now,
    });
  });
}

async function balanceOf(t: TestPlatform, anchorId: number) {
  return (
    await t.http
      .get(`/finance/api/v1/balances/${anchorId}`)
      .set('Authorization', await t.auth('admin'))
      .expect(200)
  ).body as { available: string; totalIncome: string };
}

describe('reconciliation of what the trust hole let in (issue 7, findings 1 and 2)', () => {
  let t: TestPlatform;
  let reconciler: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
    reconciler = await createTestPlatform({}, { clock: ahead });
  });
  afterAll(async () => {
    await Promise.all([t.close(), reconciler.close()]);
  });

  it('when a settlement names a reward id no reward has yet (10,000,000.00), then reconcile reports it (not clean) and --repair takes it back: balance, detail and a REVERSAL line', async () => {
    const stage = await liveStage(t, 1);
    await sendRewards(t, stage, 1);
    await t.runSync();
    await reconciler.reconcile({ repair: true });
    const honest = await balanceOf(t, stage.anchorId);
    const forgedId = (await nextRechargeId(t)) + 5;
    await forgeSettlement(t, {
      rechargeId: forgedId,
      anchorId: stage.anchorId,
      liveRoomId: stage.roomId,
      audienceId: stage.viewerIds[0]!,
      amountFen: 1_000_000_000,
    });
    expect((await balanceOf(t, stage.anchorId)).available).not.toBe(honest.available);

    const report = await reconciler.reconcile({ repair: false });
    expect(report.finance.phantoms).toEqual([{ rechargeId: forgedId, anchorId: stage.anchorId, amount: '10000000.00' }]);
    expect(report.clean).toBe(false);

    const repaired = await reconciler.reconcile({ repair: true });
    expect(repaired.finance.repaired?.voided).toContain(forgedId);
    expect(await balanceOf(t, stage.anchorId)).toEqual(honest);
    expect(await t.db2('settlement_detail').where({ recharge_id: forgedId })).toHaveLength(0);
    expect(await t.db2('settlement_detail_void').where({ recharge_id: forgedId })).toHaveLength(1);
    const reversal = await t.db2('balance_ledger').where({ anchor_id: stage.anchorId, entry_type: 'REVERSAL' });
    expect(reversal.map((l: { available_delta: number }) => l.available_delta)).toEqual([-500_000_000]);
    expect(financeDriftOf(await reconciler.reconcile({ repair: false }), stage.anchorId)).toEqual({
      drifted: false,
      phantoms: [],
      unbalanced: false,
    });
  });

  it('when a forged settlement reserved an id and the real reward with it was skipped as a duplicate, then --repair takes the forged one back and settles the real one', async () => {
    const stage = await liveStage(t, 1);
    const forgedId = await nextRechargeId(t);
    await forgeSettlement(t, {
      rechargeId: forgedId,
      anchorId: stage.anchorId,
      liveRoomId: stage.roomId,
      audienceId: stage.viewerIds[0]!,
      amountFen: 1_000_000_000,
    });
    await sendRewards(t, stage, 1);
    const real = await t.db1('recharge').where({ id: forgedId }).first();
    expect(real).toMatchObject({ live_room_id: stage.roomId, amount: 125 });
    await t.runSync();
    // The sync marked it SYNCED, but finance only counted a duplicate of the forged detail.
    expect(await t.db1('recharge').where({ id: forgedId, sync_status: 'SYNCED' })).toHaveLength(1);
    expect((await t.db2('settlement_detail').where({ recharge_id: forgedId }).first()).amount).toBe(1_000_000_000);

    const report = await reconciler.reconcile({ repair: true });
    expect(report.finance.drifted.map((d) => d.anchorId)).toContain(stage.anchorId);
    expect(report.finance.repaired?.voided).toContain(forgedId);
    expect(report.finance.repaired?.held).not.toContain(forgedId);
    expect(financeDriftOf(await reconciler.reconcile({ repair: false }), stage.anchorId)).toEqual({
      drifted: false,
      phantoms: [],
      unbalanced: false,
    });
    expect(await t.db2('settlement_detail').where({ recharge_id: forgedId }).first()).toMatchObject({ amount: 125, anchor_amount: 62 });
    expect(await balanceOf(t, stage.anchorId)).toEqual({
      anchorId: stage.anchorId,
      available: '0.62',
      frozen: '0.00',
      totalIncome: '0.62',
      totalWithdrawn: '0.00',
    });
  });

  it('when a settlement detail was deleted but its credit kept (the balance disagrees), then --repair does not settle it again: it is held for a human', async () => {
    const stage = await liveStage(t, 1);
    await sendRewards(t, stage, 2);
    await t.runSync();
    const lost = await t.db2('settlement_detail').where({ anchor_id: stage.anchorId }).orderBy('id').first();
    await t.db2('settlement_detail').where({ id: lost.id }).delete();
    const before = await balanceOf(t, stage.anchorId);
    const report = await reconciler.reconcile({ repair: true });
    expect(report.finance.repaired?.held).toContain(lost.recharge_id);
    expect(await t.db2('settlement_detail').where({ recharge_id: lost.recharge_id })).toHaveLength(0);
    expect(report.finance.balanceMismatches.map((m) => m.anchorId)).toContain(stage.anchorId);
    expect(report.clean).toBe(false);
    expect(await balanceOf(t, stage.anchorId)).toEqual(before);
  });

  it('when a room counted a reward id no reward has yet, then reconcile reports the phantom line and --repair removes it; the real reward that later gets the id is counted in its own room', async () => {
    const stage = await liveStage(t, 1);
    const victim = await liveStage(t, 1);
    const forgedId = (await nextRechargeId(t)) + 3;
    await t.db1('live_room_applied_reward').insert({
      recharge_id: forgedId,
      live_room_id: victim.roomId,
      amount: 500_000,
      flush_id: null,
      applied_at: '2026-06-01 00:00:00.000',
    });
    await t.db1('live_room_realtime').where({ live_room_id: victim.roomId }).update({ total_earnings: 500_000, recharge_count: 1 });
    expect(await figures(t, victim.roomId)).toEqual({ count: 1, amount: '5000.00' });

    const report = await reconciler.reconcile({ repair: false });
    expect(report.realtime.phantoms).toEqual([{ rechargeId: forgedId, liveRoomId: victim.roomId, amount: '5000.00' }]);
    expect(report.clean).toBe(false);
    const repaired = await reconciler.reconcile({ repair: true });
    expect(repaired.realtime.repaired).toContainEqual({ liveRoomId: victim.roomId, applied: 0, removed: 1 });
    expect(await figures(t, victim.roomId)).toEqual({ count: 0, amount: '0.00' });

    while ((await nextRechargeId(t)) <= forgedId) await sendRewards(t, stage, 1);
    expect(await figures(t, stage.roomId)).toEqual(await truth(t, stage.roomId));
  });

  it('when a forged line made the real reward a duplicate in another room, or a line has the wrong amount, then --repair moves each count to where it belongs', async () => {
    const stage = await liveStage(t, 1);
    const victim = await liveStage(t, 1);
    const forgedId = await nextRechargeId(t);
    await t
      .db1('live_room_applied_reward')
      .insert({ recharge_id: forgedId, live_room_id: victim.roomId, amount: 125, flush_id: null, applied_at: '2026-06-01 00:00:00.000' });
    await t.db1('live_room_realtime').where({ live_room_id: victim.roomId }).update({ total_earnings: 125, recharge_count: 1 });
    await sendRewards(t, stage, 2);
    await t.flushRealtime();
    // The real reward forgedId was dropped as a duplicate: the room misses it.
    expect((await figures(t, stage.roomId)).count).toBe(1);
    const second = (await t.db1('recharge').where({ live_room_id: stage.roomId }).orderBy('id', 'desc').first()).id as number;
    await t.db1('live_room_applied_reward').where({ recharge_id: second }).update({ amount: 9_999 });
    await t
      .db1('live_room_realtime')
      .where({ live_room_id: stage.roomId })
      .update({ total_earnings: t.db1.raw('total_earnings + 9999 - 225') });

    const report = await reconciler.reconcile({ repair: true });
    expect(report.realtime.remaining).toBe(0);
    expect(await figures(t, stage.roomId)).toEqual(await truth(t, stage.roomId));
    expect(await figures(t, victim.roomId)).toEqual({ count: 0, amount: '0.00' });
    expect(await t.db1('live_room_applied_reward').where({ recharge_id: forgedId }).first()).toMatchObject({
      live_room_id: stage.roomId,
      amount: 125,
    });
  });
});

describe('the realtime journal is pruned once reconciliation confirmed it', () => {
  let t: TestPlatform;
  let reconciler: TestPlatform;
  beforeAll(async () => {
    // Lines older than 1 ms are past the replay window: pruned at the first confirmation.
    t = await createTestPlatform({ REALTIME_JOURNAL_RETENTION_MS: '1' });
    reconciler = await createTestPlatform({ REALTIME_JOURNAL_RETENTION_MS: '1' }, { clock: ahead });
  });
  afterAll(async () => {
    await Promise.all([t.close(), reconciler.close()]);
  });

  const lines = async (roomId: number) =>
    Number((await t.db1('live_room_applied_reward').where({ live_room_id: roomId }).count({ n: '*' }).first())?.['n']);

  it('when a room is found exact, then its journal lines fold into its floor, the figures stay, and a late duplicate of a folded reward is refused on every path', async () => {
    const stage = await liveStage(t, 2);
    await sendRewards(t, stage, 6);
    await t.flushRealtime();
    expect(await lines(stage.roomId)).toBe(6);
    const expected = await truth(t, stage.roomId);

    const report = await reconciler.reconcile({ repair: true });
    expect(report.realtime.compacted.rows).toBeGreaterThanOrEqual(6);
    expect(await lines(stage.roomId)).toBe(0);
    const row = await t.db1('live_room_realtime').where({ live_room_id: stage.roomId }).first();
    expect(row).toMatchObject({ floor_count: 6, recharge_count: 6 });
    expect(await figures(t, stage.roomId)).toEqual(expected);

    const rewards = await t.db1('recharge').where({ live_room_id: stage.roomId }).orderBy('id');
    const first = rewards[0] as { id: number; trace_id: string; audience_id: number; amount: number };
    const late = {
      rechargeId: first.id,
      traceId: first.trace_id,
      audienceId: first.audience_id,
      liveRoomId: stage.roomId,
      amount: (first.amount / 100).toFixed(2),
    };
    await t.http
      .post('/anchor/api/v1/live-rooms/realtime/reward')
      .set('Authorization', await t.auth('internal'))
      .send(late)
      .expect(200);
    await t.flushRealtime();
    expect(await figures(t, stage.roomId)).toEqual(expected);
    await t.redis.client!.del(`live:room:meta:{${stage.roomId}}`);
    await t.http
      .post('/anchor/api/v1/live-rooms/realtime/reward')
      .set('Authorization', await t.auth('internal'))
      .send(late)
      .expect(200);
    await t.flushRealtime();
    expect(await figures(t, stage.roomId)).toEqual(expected);
    expect(await lines(stage.roomId)).toBe(0);

    await sendRewards(t, stage, 1);
    expect(await figures(t, stage.roomId)).toEqual(await truth(t, stage.roomId));
    const again = await reconciler.reconcile({ repair: false });
    expect(driftOf(again, stage.roomId)).toBeUndefined();
  });

  it('when the floor moved after the audit that judged it (another reconciler folded more), then setting it from that audit changes nothing', async () => {
    const stage = await liveStage(t, 1);
    await sendRewards(t, stage, 3);
    await reconciler.reconcile({ repair: true });
    const anchorClient = (t.modules.find((m) => m.name === 'anchor') as unknown as { client: AnchorServiceClient }).client;
    const row = await t.db1('live_room_realtime').where({ live_room_id: stage.roomId }).first();
    expect(row.floor_count).toBe(3);
    expect(await anchorClient.setRealtimeFloor(stage.roomId, { floorId: row.journal_floor_id - 1, count: 2, amountFen: 1 })).toBe(false);
    expect(await t.db1('live_room_realtime').where({ live_room_id: stage.roomId }).first()).toEqual(row);
    expect(
      await anchorClient.setRealtimeFloor(stage.roomId, {
        floorId: row.journal_floor_id,
        count: row.floor_count,
        amountFen: row.floor_earnings,
      }),
    ).toBe(true);
  });

  it('when the total below the floor is wrong, then reconcile reports the room and --repair sets the floor from the reward table', async () => {
    const stage = await liveStage(t, 1);
    await sendRewards(t, stage, 3);
    await reconciler.reconcile({ repair: true });
    await t.db1('live_room_realtime').where({ live_room_id: stage.roomId }).update({ floor_earnings: 1, total_earnings: 1 });
    const report = await reconciler.reconcile({ repair: true });
    expect(driftOf(report, stage.roomId)).toBeDefined();
    expect(report.realtime.remaining).toBe(0);
    expect(await figures(t, stage.roomId)).toEqual(await truth(t, stage.roomId));
  });
});
