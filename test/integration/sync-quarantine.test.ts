import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AudienceServiceClient } from '../../src/modules/audience/contract';
import type { FinanceServiceClient } from '../../src/modules/finance/contract';
import { AppError } from '../../src/shared/http/app-error';
import { workerDatabaseUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, TEST_JWT_SECRET, type TestPlatform } from '../support/platform';
import { metricSample, metricsOf } from '../support/prometheus';

/**
 * Poison rows: a reward finance refuses every time it is sent. The sync splits a refused batch until
 * it has found the refused rewards, settles the others in the same run, counts a refusal on each
 * refused one per run, and quarantines it after SYNC_QUARANTINE_AFTER of them; a failure that says
 * nothing about the records (503, a timeout) counts nothing.
 */
const ROOT = resolve(__dirname, '../..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
const run = promisify(execFile);

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
  // What other files of this worker left unsettled is settled first: the reports below are about this file's rewards.
  await t.runSync();
});

afterAll(() => t.close());

function cli(args: string[]) {
  return run(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      DB1_URL: workerDatabaseUrl('db1'),
      DB2_URL: workerDatabaseUrl('db2'),
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'silent',
    },
  });
}

/** `count` rewards of 1.00 … 9.99 yuan into a fresh live room; their ids in order and their sum. */
async function rewards(count: number): Promise<{ anchorId: number; ids: number[]; fen: Map<number, number>; totalFen: number }> {
  const { anchorId, roomId, viewerIds } = await liveStage(t, 3);
  const auth = await t.auth('service');
  const ids: number[] = [];
  const fen = new Map<number, number>();
  for (let start = 0; start < count; start += 500) {
    const items = Array.from({ length: Math.min(500, count - start) }, (_, i) => ({
      traceId: newTraceId('PO'),
      audienceId: viewerIds[(start + i) % 3],
      liveRoomId: roomId,
      amount: (100 + (((start + i) * 37) % 900)) / 100,
    }));
    const res = await t.http.post('/audience/api/v1/recharge/batch').set('Authorization', auth).send({ items }).expect(200);
    for (const [i, r] of (res.body.results as Array<{ status: number; rechargeId: number }>).entries()) {
      expect(r.status).toBe(201);
      ids.push(r.rechargeId);
      fen.set(r.rechargeId, Math.round(items[i]!.amount * 100));
    }
  }
  return { anchorId, ids, fen, totalFen: [...fen.values()].reduce((a, b) => a + b, 0) };
}

/** What finance holds of these rewards: details, their sum and shares. */
async function settledOf(ids: readonly number[]) {
  const [row] = await t
    .db2('settlement_detail')
    .whereIn('recharge_id', ids)
    .select(t.db2.raw('COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM(anchor_amount), 0) AS anchor_share'));
  const settledIds = (await t.db2('settlement_detail').whereIn('recharge_id', ids).pluck('recharge_id')) as number[];
  return { n: Number(row.n), amount: Number(row.amount), anchorShare: Number(row.anchor_share), ids: new Set(settledIds) };
}

/** The sync state of each reward, counted. */
async function statesOf(ids: readonly number[]): Promise<Record<string, number>> {
  const rows: Array<{ sync_status: string; n: number }> = await t
    .db1('recharge')
    .whereIn('id', ids)
    .groupBy('sync_status')
    .select('sync_status', t.db1.raw('COUNT(*) AS n'));
  return Object.fromEntries(rows.map((row) => [row.sync_status, Number(row.n)]));
}

async function syncColumns(id: number) {
  return t
    .db1('recharge')
    .where({ id })
    .first('sync_status', 'sync_refusals', 'sync_last_refusal', 'sync_quarantined_at', 'sync_batch_id', 'sync_claimed_until');
}

async function balanceOf(platform: TestPlatform, anchorId: number): Promise<string> {
  const res = await platform.http
    .get(`/finance/api/v1/balances/${anchorId}`)
    .set('Authorization', await platform.auth('admin'))
    .expect(200);
  return res.body.available as string;
}

function yuan(fen: number): string {
  return `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

/**
 * A platform whose finance sees `poisoned` rewards other than they are stored (one fen more), as a
 * finance reading a broken replica would: its own record check refuses any batch holding one with
 * 409 REWARD_MISMATCH, every time. `sends` records the size of each batch the sync sends.
 */
async function poisonedPlatform(env: Record<string, string>, poisoned: ReadonlySet<number>, sends: number[]) {
  return createTestPlatform(env, {
    clientDecorators: {
      audience: (client: AudienceServiceClient) => ({
        ...client,
        storedRewards: async (ids) =>
          (await client.storedRewards(ids)).map((r) => (poisoned.has(r.rechargeId) ? { ...r, amountFen: r.amountFen + 1 } : r)),
      }),
      finance: (client: FinanceServiceClient) => ({
        ...client,
        batchSync: (command) => {
          sends.push(command.records.length);
          return client.batchSync(command);
        },
      }),
    },
  });
}

describe('a reward finance refuses every time (poison)', () => {
  it('when one reward among 1000 is refused, then the other 999 are settled in the first run, it is quarantined after SYNC_QUARANTINE_AFTER runs, the metric, the CLI and reconciliation show it, and retry puts it back', async () => {
    const stage = await rewards(1000);
    const poison = stage.ids[437]!;
    const others = stage.ids.filter((id) => id !== poison);
    const sends: number[] = [];
    const poisoned = await poisonedPlatform({ SYNC_BATCH_SIZE: '100', SYNC_QUARANTINE_AFTER: '3' }, new Set([poison]), sends);
    try {
      const first = await poisoned.runSync();
      expect(first).toEqual({ synced: 999, batches: 10, pending: 1 });
      const afterFirst = await settledOf(stage.ids);
      expect({ n: afterFirst.n, amount: afterFirst.amount, poisonSettled: afterFirst.ids.has(poison) }).toEqual({
        n: 999,
        amount: stage.totalFen - stage.fen.get(poison)!,
        poisonSettled: false,
      });
      expect(await statesOf(others)).toEqual({ SYNCED: 999 });
      expect(await syncColumns(poison)).toMatchObject({
        sync_status: 'PENDING',
        sync_refusals: 1,
        sync_last_refusal: '409 REWARD_MISMATCH (records[0].amount: differs from the stored reward)',
        sync_quarantined_at: null,
        sync_batch_id: null,
        sync_claimed_until: null,
      });
      // Bisection, not one by one: the nine clean batches once each, the poisoned one halved down to the poison (100 → 1: 7 levels, 2 sends each).
      expect(sends.length).toBeGreaterThan(10);
      expect(sends.length).toBeLessThanOrEqual(10 + 2 * 7);

      // Runs 2 and 3: only the poison is left; it is sent alone-in-its-batch once per run, refused once per run.
      sends.length = 0;
      expect(await poisoned.runSync()).toEqual({ synced: 0, batches: 1, pending: 1 });
      expect(await syncColumns(poison)).toMatchObject({ sync_status: 'PENDING', sync_refusals: 2 });
      expect(await poisoned.runSync()).toEqual({ synced: 0, batches: 1, pending: 0 });
      const quarantined = await syncColumns(poison);
      expect(quarantined).toMatchObject({ sync_status: 'QUARANTINED', sync_refusals: 3, sync_batch_id: null, sync_claimed_until: null });
      expect(quarantined.sync_quarantined_at).not.toBeNull();
      expect(sends).toEqual([1, 1]);

      // Run 4: a quarantined reward is no longer claimed nor sent.
      expect(await poisoned.runSync()).toEqual({ synced: 0, batches: 0, pending: 0 });
      expect(sends).toEqual([1, 1]);

      const metrics = await metricsOf(poisoned);
      expect({
        quarantined: metricSample(metrics, 'recharge_sync_quarantined'),
        pending: metricSample(metrics, 'recharge_sync_pending'),
        retried: metricSample(metrics, 'recharge_sync_refusals_total', { outcome: 'retried' }),
        quarantinedNow: metricSample(metrics, 'recharge_sync_refusals_total', { outcome: 'quarantined' }),
      }).toEqual({ quarantined: 1, pending: 0, retried: 2, quarantinedNow: 1 });
    } finally {
      await poisoned.close();
    }

    const listed = JSON.parse((await cli(['sync', 'quarantine', 'list'])).stdout);
    expect(listed).toEqual({
      total: { count: 1, amount: yuan(stage.fen.get(poison)!) },
      rewards: [
        expect.objectContaining({
          rechargeId: poison,
          anchorId: stage.anchorId,
          amount: yuan(stage.fen.get(poison)!),
          refusals: 3,
          lastRefusal: '409 REWARD_MISMATCH (records[0].amount: differs from the stored reward)',
          quarantinedAt: expect.stringMatching(/Z$/),
        }),
      ],
    });

    // Reconciliation says why the reward is not settled, and is not clean while it waits for an operator.
    const report = await t.reconcile({ repair: false });
    expect(report.finance.quarantined).toEqual({
      count: 1,
      amount: yuan(stage.fen.get(poison)!),
      rewards: [expect.objectContaining({ rechargeId: poison, anchorId: stage.anchorId, refusals: 3 })],
    });
    expect(report.finance.drifted.find((d) => d.anchorId === stage.anchorId)).toBeUndefined();
    expect(report.clean).toBe(false);

    const retried = await cli(['sync', 'quarantine', 'retry', String(poison)]);
    expect(JSON.parse(retried.stdout)).toEqual({ requeued: 1 });
    expect(await syncColumns(poison)).toMatchObject({
      sync_status: 'PENDING',
      sync_refusals: 0,
      sync_last_refusal: null,
      sync_quarantined_at: null,
    });
    await expect(cli(['sync', 'quarantine', 'retry', String(poison)])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`Reward ${poison} is not quarantined: its sync state is PENDING.`),
    });

    // Finance sees the reward as stored again (the replica healed): the next run settles it, and all of it adds up.
    expect(await t.runSync()).toMatchObject({ synced: 1, pending: 0 });
    const all = await settledOf(stage.ids);
    expect({ n: all.n, amount: all.amount }).toEqual({ n: 1000, amount: stage.totalFen });
    expect(await statesOf(stage.ids)).toEqual({ SYNCED: 1000 });
    expect(await balanceOf(t, stage.anchorId)).toBe(yuan(all.anchorShare));
    expect((await t.reconcile({ repair: false })).finance.quarantined.count).toBe(0);
  }, 60_000);

  it('when several rewards of one batch are refused, then each is found and counted, and retry --all puts every quarantined one back', async () => {
    const stage = await rewards(64);
    // Neighbours, the first and the last of the batch.
    const poisons = [stage.ids[0]!, stage.ids[20]!, stage.ids[21]!, stage.ids[63]!];
    const sends: number[] = [];
    const poisoned = await poisonedPlatform({ SYNC_BATCH_SIZE: '64', SYNC_QUARANTINE_AFTER: '1' }, new Set(poisons), sends);
    try {
      expect(await poisoned.runSync()).toEqual({ synced: 60, batches: 1, pending: 0 });
    } finally {
      await poisoned.close();
    }
    expect(await statesOf(poisons)).toEqual({ QUARANTINED: 4 });
    expect(await statesOf(stage.ids.filter((id) => !poisons.includes(id)))).toEqual({ SYNCED: 60 });
    expect((await settledOf(poisons)).n).toBe(0);

    const listed = JSON.parse((await cli(['sync', 'quarantine', 'list', '--limit', '2'])).stdout);
    expect(listed.total.count).toBe(4);
    expect(listed.rewards.map((r: { rechargeId: number }) => r.rechargeId)).toEqual(poisons.slice(0, 2));

    expect(JSON.parse((await cli(['sync', 'quarantine', 'retry', '--all'])).stdout)).toEqual({ requeued: 4 });
    expect(await statesOf(poisons)).toEqual({ PENDING: 4 });
    expect(await t.runSync()).toMatchObject({ synced: 4, pending: 0 });
    const all = await settledOf(stage.ids);
    expect({ n: all.n, amount: all.amount }).toEqual({ n: 64, amount: stage.totalFen });
  }, 60_000);
});

describe('failures that say nothing about the records', () => {
  it('when finance answers 503 or times out for whole batches run after run, then no refusal is counted, nothing is quarantined, and all is settled once when finance is back', async () => {
    const stage = await rewards(200);
    let fault: 'unavailable' | 'hang' | null = 'unavailable';
    const late: Array<Promise<unknown>> = [];
    // SYNC_QUARANTINE_AFTER=1: a single counted refusal would quarantine at once.
    const flaky = await createTestPlatform(
      { SYNC_BATCH_SIZE: '50', SYNC_QUARANTINE_AFTER: '1', MODULE_CALL_TIMEOUT_MS: '300' },
      {
        clientDecorators: {
          finance: (client: FinanceServiceClient) => ({
            ...client,
            batchSync: (command) => {
              if (fault === 'unavailable') return Promise.reject(AppError.unavailable('finance is restarting'));
              if (fault === 'hang') {
                // Finance answers long after the sync gave up (and then settles): the sync must not count that as a refusal either.
                const answer = new Promise((r) => setTimeout(r, 600)).then(() => client.batchSync(command));
                late.push(answer.catch(() => undefined));
                return answer;
              }
              return client.batchSync(command);
            },
          }),
        },
      },
    );
    try {
      const admin = await flaky.auth('admin');
      for (const mode of ['unavailable', 'unavailable', 'unavailable', 'hang', 'hang'] as const) {
        fault = mode;
        const res = await flaky.http.post('/audience/api/v1/sync/trigger').set('Authorization', admin);
        expect({ mode, status: res.status, code: res.body.code }).toEqual({ mode, status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
        expect({ mode, states: await statesOf(stage.ids) }).toEqual({ mode, states: { PENDING: 200 } });
      }
      await Promise.all(late);
      const refusals = await t.db1('recharge').whereIn('id', stage.ids).max({ m: 'sync_refusals' }).first();
      expect(Number(refusals?.['m'])).toBe(0);
      const metrics = await metricsOf(flaky);
      expect(metricSample(metrics, 'recharge_sync_refusals_total')).toBe(0);

      fault = null;
      const back = await flaky.runSync();
      expect(back).toMatchObject({ synced: 200, pending: 0 });
    } finally {
      await flaky.close();
    }
    expect(await statesOf(stage.ids)).toEqual({ SYNCED: 200 });
    const settled = await settledOf(stage.ids);
    expect({ n: settled.n, amount: settled.amount }).toEqual({ n: 200, amount: stage.totalFen });
    expect(await balanceOf(t, stage.anchorId)).toBe(yuan(settled.anchorShare));
  }, 60_000);

  it('when finance becomes unavailable in the middle of a bisection, then what it settled is confirmed, the refusal found is counted, and the rest waits without one', async () => {
    const stage = await rewards(64);
    const [early, late] = [stage.ids[5]!, stage.ids[40]!];
    const sends: number[] = [];
    let failOnSend: number | null = 14;
    const poisonedFinance = await createTestPlatform(
      { SYNC_BATCH_SIZE: '64', SYNC_QUARANTINE_AFTER: '3' },
      {
        clientDecorators: {
          audience: (client: AudienceServiceClient) => ({
            ...client,
            storedRewards: async (ids) =>
              (await client.storedRewards(ids)).map((r) =>
                r.rechargeId === early || r.rechargeId === late ? { ...r, amountFen: r.amountFen + 1 } : r,
              ),
          }),
          finance: (client: FinanceServiceClient) => ({
            ...client,
            batchSync: (command) => {
              sends.push(command.records.length);
              if (sends.length === failOnSend) return Promise.reject(AppError.unavailable('finance is restarting'));
              return client.batchSync(command);
            },
          }),
        },
      },
    );
    try {
      // 64 R → 0-31 R → 0-15 R → 0-7 R → 0-3 ok → 4-7 R → 4-5 R → 4 ok → 5 R → 6-7 ok → 8-15 ok → 16-31 ok → 32-63 R → 32-47: 503.
      await expect(poisonedFinance.runSync()).rejects.toMatchObject({ status: 503 });
      expect(sends).toEqual([64, 32, 16, 8, 4, 4, 2, 1, 1, 2, 8, 16, 32, 16]);
      const settledFirst = stage.ids.slice(0, 32).filter((id) => id !== early);
      expect(await statesOf(settledFirst)).toEqual({ SYNCED: 31 });
      expect((await settledOf(stage.ids)).n).toBe(31);
      expect(await syncColumns(early)).toMatchObject({ sync_status: 'PENDING', sync_refusals: 1 });
      expect(await statesOf(stage.ids.slice(32))).toEqual({ PENDING: 32 });
      const untried = await t.db1('recharge').whereIn('id', stage.ids.slice(32)).max({ m: 'sync_refusals' }).first();
      expect(Number(untried?.['m'])).toBe(0);

      failOnSend = null;
      expect(await poisonedFinance.runSync()).toEqual({ synced: 31, batches: 1, pending: 2 });
      expect(await syncColumns(early)).toMatchObject({ sync_status: 'PENDING', sync_refusals: 2 });
      expect(await syncColumns(late)).toMatchObject({ sync_status: 'PENDING', sync_refusals: 1 });
    } finally {
      await poisonedFinance.close();
    }
    expect(await t.runSync()).toMatchObject({ synced: 2, pending: 0 });
    const all = await settledOf(stage.ids);
    expect({ n: all.n, amount: all.amount }).toEqual({ n: 64, amount: stage.totalFen });
  }, 60_000);
});
