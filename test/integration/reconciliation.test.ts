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
  return { ...client, applyReward: (command) => (anchorDown ? Promise.reject(new Error('anchor module is down')) : client.applyReward(command)) };
}

async function sendRewards(t: TestPlatform, stage: { roomId: number; viewerIds: number[] }, count: number): Promise<void> {
  const auth = await t.auth('service');
  for (let i = 0; i < count; i += 1) {
    await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', auth)
      .send({ traceId: newTraceId('RECON'), audienceId: stage.viewerIds[i % stage.viewerIds.length], liveRoomId: stage.roomId, amount: `${i + 1}.25` })
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

describe('reconciliation of realtime figures', () => {
  let t: TestPlatform;
  let reconciler: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({}, { anchorClientDecorator: switchable });
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
    const ghost = { trace_id: newTraceId('GHOST'), audience_id: stage.viewerIds[0], live_room_id: stage.roomId, anchor_id: stage.anchorId, amount: 777, created_at: '2026-01-01 00:00:00.000' };
    const [ghostId] = await t.db1('recharge').insert(ghost);
    await sendRewards(t, stage, 1);
    await t.db1('recharge').where({ id: ghostId }).delete();
    await t.db1('live_room_applied_reward').insert({ recharge_id: ghostId, live_room_id: stage.roomId, amount: 777, flush_id: null, applied_at: '2026-01-01 00:00:00.000' });
    const report = await reconciler.reconcile({ repair: true });
    expect(driftOf(report, stage.roomId)).toMatchObject({ rowMatchesJournal: false });
    expect(report.realtime.repaired).toContainEqual({ liveRoomId: stage.roomId, applied: 0, removed: 1 });
    expect(await figures(t, stage.roomId)).toEqual(await truth(t, stage.roomId));
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
    await t.db2('anchor_balance').where({ anchor_id: stage.anchorId }).update({ available: t.db2.raw('available + 1') });
    const report = await reconciler.reconcile({ repair: false });
    expect(report.finance.drifted.find((d) => d.anchorId === stage.anchorId)).toMatchObject({ synced: { count: 4 }, settled: { count: 3 } });
    expect(report.finance.balanceMismatches.find((m) => m.anchorId === stage.anchorId)).toBeDefined();
    expect(report.clean).toBe(false);

    const env = { ...process.env, ...testEnvironment() } as Record<string, string>;
    const cli = await promisify(execFile)(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/cli.ts'), 'reconcile'], { cwd: ROOT, env }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(cli.code).toBe(3);
    const printed = JSON.parse(cli.stdout) as ReconciliationReport;
    expect(printed.clean).toBe(false);
    expect(printed.finance.balanceMismatches.map((m) => m.anchorId)).toContain(stage.anchorId);
  }, 60_000);
});
