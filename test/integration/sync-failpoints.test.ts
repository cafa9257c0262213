import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli, type CliRun } from '../support/cli-process';
import { createTestPlatform, liveStage, newTraceId, storeBatch, testEnvironment, type TestPlatform } from '../support/platform';

/**
 * The finance sync (claim -> finance settles in one DB2 transaction -> mark SYNCED) run by the real
 * CLI, `sync run`, with a failpoint armed (src/shared/failpoints.ts): each test proves the process
 * stopped exactly there — its exit signal or code, the `failpoint …` line, and the state only that
 * point leaves — then lets an unarmed run finish and checks Σ settled = Σ rewards, no detail twice,
 * balance = Σ anchor shares.
 */
const BATCH = 25;

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(() => t.close());

/** `sync run` in a process of its own, on the worker's databases, batches of 25. */
function syncRun(env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(['sync', 'run'], testEnvironment({ LOG_LEVEL: 'info', SYNC_BATCH_SIZE: String(BATCH), SYNC_CLAIM_TTL_MS: '1', ...env }));
}

interface Staged {
  anchorId: number;
  ids: number[];
  totalFen: number;
  /** Σ floor(amount / 2): the anchor's share at the default rate 0.5000. */
  anchorFen: number;
}

/** Settles whatever earlier tests of this worker left pending, then stores `count` rewards into a fresh room. */
async function stage(count: number): Promise<Staged> {
  await t.runSync();
  const { anchorId, roomId, viewerIds } = await liveStage(t, 3);
  const ids: number[] = [];
  let totalFen = 0;
  let anchorFen = 0;
  for (let start = 0; start < count; start += 500) {
    const items = Array.from({ length: Math.min(500, count - start) }, (_, i) => {
      const fen = 100 + (((start + i) * 37) % 900);
      totalFen += fen;
      anchorFen += Math.floor(fen / 2);
      return { traceId: newTraceId('SF'), audienceId: viewerIds[(start + i) % 3], liveRoomId: roomId, amount: (fen / 100).toFixed(2) };
    });
    ids.push(...(await storeBatch(t, items)));
  }
  return { anchorId, ids, totalFen, anchorFen };
}

interface BatchState {
  batchId: string;
  /** Sync states of its rewards, e.g. { CLAIMED: 25 }. */
  states: Record<string, number>;
  /** How many of its rewards finance holds a settlement detail for. */
  settled: number;
}

/** Our rewards grouped by the sync batch that holds them (PENDING ones under batch id ''), with what finance holds of each. */
async function batches(ids: readonly number[]): Promise<BatchState[]> {
  const rows: Array<{ id: number; sync_batch_id: string | null; sync_status: string }> = await t
    .db1('recharge')
    .whereIn('id', ids)
    .select('id', 'sync_batch_id', 'sync_status');
  const details: Array<{ recharge_id: number }> = await t.db2('settlement_detail').whereIn('recharge_id', ids).select('recharge_id');
  const settledIds = new Set(details.map((d) => Number(d.recharge_id)));
  const byBatch = new Map<string, BatchState>();
  for (const row of rows) {
    const batchId = row.sync_batch_id ?? '';
    const state = byBatch.get(batchId) ?? { batchId, states: {}, settled: 0 };
    state.states[row.sync_status] = (state.states[row.sync_status] ?? 0) + 1;
    if (settledIds.has(Number(row.id))) state.settled += 1;
    byBatch.set(batchId, state);
  }
  return [...byBatch.values()];
}

/** What finance holds for these rewards, and the anchor's balance and ledger. */
async function finance(anchorId: number, ids: readonly number[]) {
  const [row]: Array<Record<string, number>> = await t
    .db2('settlement_detail')
    .whereIn('recharge_id', ids)
    .select(
      t.db2.raw(
        'COUNT(*) AS n, COUNT(DISTINCT recharge_id) AS distinct_n, COALESCE(SUM(amount), 0) AS fen, COALESCE(SUM(anchor_amount), 0) AS anchor_fen',
      ),
    );
  const balance: { available: number } | undefined = await t.db2('anchor_balance').where({ anchor_id: anchorId }).first();
  const ledger = await t.db2('balance_ledger').where({ anchor_id: anchorId }).sum({ fen: 'available_delta' }).first();
  return {
    n: Number(row?.['n']),
    distinct: Number(row?.['distinct_n']),
    fen: Number(row?.['fen']),
    anchorFen: Number(row?.['anchor_fen']),
    available: balance ? Number(balance.available) : 0,
    ledger: Number(ledger?.['fen'] ?? 0),
  };
}

async function unsynced(ids: readonly number[]): Promise<number> {
  const row = await t.db1('recharge').whereIn('id', ids).whereNot('sync_status', 'SYNCED').count({ n: '*' }).first();
  return Number(row?.['n']);
}

/** The id InnoDB hands the next row of a DB2 table: it moves when an INSERT ran, even one rolled back. */
async function nextDb2Id(table: string): Promise<number> {
  const [rows] = (await t.db2.raw(
    'SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
    [table],
  )) as [Array<{ next: number }>];
  return Number(rows[0]?.next);
}

/** After an unarmed run: every reward SYNCED and settled once, to the fen, and the balance credited once. */
async function expectSettledOnce(staged: Staged): Promise<void> {
  expect(await unsynced(staged.ids)).toBe(0);
  const n = staged.ids.length;
  expect(await finance(staged.anchorId, staged.ids)).toEqual({
    n,
    distinct: n,
    fen: staged.totalFen,
    anchorFen: staged.anchorFen,
    available: staged.anchorFen,
    ledger: staged.anchorFen,
  });
}

function settledLines(run: CliRun): Array<{ records: number; accepted: number; duplicates: number }> {
  return run.logLines
    .filter((line) => line['msg'] === 'sync batch settled')
    .map((line) => ({ records: Number(line['records']), accepted: Number(line['accepted']), duplicates: Number(line['duplicates']) }));
}

describe('`sync run` SIGKILLed at a failpoint, then run again unarmed', () => {
  it('when sync.afterClaim=kill strikes, then one batch is CLAIMED with nothing of it settled; a run while the claim holds leaves it alone, one after it settles it once', async () => {
    const staged = await stage(60);
    const killed = await syncRun({ FAILPOINTS: 'sync.afterClaim=kill', SYNC_CLAIM_TTL_MS: '60000' });
    expect([killed.signal, killed.struck]).toEqual(['SIGKILL', ['sync.afterClaim: kill']]);
    // Only between the claim and the call to finance: a claimed batch finance has never seen.
    expect(await batches(staged.ids)).toEqual(
      expect.arrayContaining([
        { batchId: expect.stringMatching(/^SYNC-/), states: { CLAIMED: BATCH }, settled: 0 },
        { batchId: '', states: { PENDING: 35 }, settled: 0 },
      ]),
    );
    expect((await finance(staged.anchorId, staged.ids)).n).toBe(0);

    const early = await syncRun({ SYNC_CLAIM_TTL_MS: '60000' });
    expect(early.code).toBe(0);
    expect(await unsynced(staged.ids)).toBe(BATCH);
    expect((await finance(staged.anchorId, staged.ids)).n).toBe(35);

    const later = await createTestPlatform({}, { clock: () => new Date(Date.now() + 61_000) });
    try {
      await later.runSync();
    } finally {
      await later.close();
    }
    await expectSettledOnce(staged);
  });

  it('when settlement.beforeCommit=kill strikes, then the batch is CLAIMED and DB2 kept nothing of it, though it had written its details; the next run settles everything once', async () => {
    const staged = await stage(60);
    const detailIdBefore = await nextDb2Id('settlement_detail');
    const killed = await syncRun({ FAILPOINTS: 'settlement.beforeCommit=kill' });
    expect([killed.signal, killed.struck]).toEqual(['SIGKILL', ['settlement.beforeCommit: kill']]);
    // Only inside finance's transaction: the details were inserted (their ids are taken), the kill rolled them back.
    expect(await nextDb2Id('settlement_detail')).toBeGreaterThanOrEqual(detailIdBefore + BATCH);
    expect(await batches(staged.ids)).toEqual(
      expect.arrayContaining([
        { batchId: expect.stringMatching(/^SYNC-/), states: { CLAIMED: BATCH }, settled: 0 },
        { batchId: '', states: { PENDING: 35 }, settled: 0 },
      ]),
    );
    expect(await finance(staged.anchorId, staged.ids)).toMatchObject({ n: 0, available: 0, ledger: 0 });

    const after = await syncRun();
    expect(after.code).toBe(0);
    await expectSettledOnce(staged);
  });

  it('when sync.afterFinanceCommit=kill strikes, then finance holds the batch while its rewards are still CLAIMED; the next run re-sends it, finance answers all duplicates, nothing is settled twice', async () => {
    const staged = await stage(60);
    const killed = await syncRun({ FAILPOINTS: 'sync.afterFinanceCommit=kill' });
    expect([killed.signal, killed.struck]).toEqual(['SIGKILL', ['sync.afterFinanceCommit: kill']]);
    // Only between finance's commit and markSynced: settled, and not marked.
    expect(await batches(staged.ids)).toEqual(
      expect.arrayContaining([
        { batchId: expect.stringMatching(/^SYNC-/), states: { CLAIMED: BATCH }, settled: BATCH },
        { batchId: '', states: { PENDING: 35 }, settled: 0 },
      ]),
    );
    const halfway = await finance(staged.anchorId, staged.ids);
    expect(halfway).toMatchObject({ n: BATCH, available: halfway.anchorFen, ledger: halfway.anchorFen });

    const after = await syncRun();
    expect(after.code).toBe(0);
    const lines = settledLines(after);
    expect(lines.reduce((sum, line) => sum + line.duplicates, 0)).toBe(BATCH);
    expect(lines.reduce((sum, line) => sum + line.accepted, 0)).toBe(35);
    await expectSettledOnce(staged);
  });
});

describe('`sync run` whose markSynced fails after finance committed', () => {
  it('when sync.afterFinanceCommit=1*throw fails the run, then it exits 1 with finance holding the batch; the re-sent batch is all duplicates and nothing is settled twice', async () => {
    const staged = await stage(60);
    const failed = await syncRun({ FAILPOINTS: 'sync.afterFinanceCommit=1*throw' });
    expect([failed.code, failed.signal, failed.struck]).toEqual([1, null, ['sync.afterFinanceCommit: throw']]);
    expect(failed.logLines.filter((line) => line['msg'] === 'finance sync stopped; the backlog waits for the next run')).toHaveLength(1);
    expect(await batches(staged.ids)).toEqual(
      expect.arrayContaining([{ batchId: expect.stringMatching(/^SYNC-/), states: { CLAIMED: BATCH }, settled: BATCH }]),
    );

    const after = await syncRun();
    expect(after.code).toBe(0);
    const lines = settledLines(after);
    expect(lines.reduce((sum, line) => sum + line.duplicates, 0)).toBe(BATCH);
    expect(lines.reduce((sum, line) => sum + line.accepted, 0)).toBe(35);
    await expectSettledOnce(staged);
  });
});

describe('`sync run` SIGKILLed mid-run, many times', () => {
  it('when each of 6 runs is SIGKILLed at a failpoint (after a claim, inside finance, after finance committed; 0 to 2 batches in), then every kill struck mid-run where armed, and a final run leaves Σ settled = Σ rewards to the fen', async () => {
    // 12 batches die or finish before the final run: PENDING rewards never run out, so no run re-claims another's batch.
    const staged = await stage(500);
    const points = ['sync.afterClaim', 'settlement.beforeCommit', 'sync.afterFinanceCommit'] as const;
    // Batches each run finishes before its kill: every point meets two different counts.
    const finishedBeforeKill = [0, 1, 2, 2, 0, 1];
    const seen = new Set<string>();
    for (const [round, skipped] of finishedBeforeKill.entries()) {
      const point = points[round % points.length]!;
      const killed = await syncRun({ FAILPOINTS: `${point}=${skipped > 0 ? `${skipped}*off->` : ''}kill` });
      expect({ round, signal: killed.signal, struck: killed.struck }).toEqual({ round, signal: 'SIGKILL', struck: [`${point}: kill`] });
      // This run's batches: the ones it finished, then the one it died in, in the state only that point leaves.
      const fresh = (await batches(staged.ids)).filter((b) => b.batchId !== '' && !seen.has(b.batchId));
      for (const b of fresh) seen.add(b.batchId);
      const diedIn = { states: { CLAIMED: BATCH }, settled: point === 'sync.afterFinanceCommit' ? BATCH : 0 };
      expect({
        round,
        finished: fresh.filter((b) => b.states['SYNCED'] === BATCH && b.settled === BATCH).length,
        diedIn: fresh.filter((b) => b.states['CLAIMED']).map(({ states, settled }) => ({ states, settled })),
      }).toEqual({
        round,
        finished: skipped,
        diedIn: [diedIn],
      });
      expect(fresh).toHaveLength(skipped + 1);
    }
    const final = await syncRun();
    expect(final.code).toBe(0);
    await expectSettledOnce(staged);
  }, 90_000);
});
