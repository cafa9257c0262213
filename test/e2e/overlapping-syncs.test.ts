import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { workerDatabaseUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, storeBatch, TEST_JWT_SECRET, type TestPlatform } from '../support/platform';

/**
 * Two `sync run` processes at once over thousands of PENDING rewards, in both claim modes
 * (SYNC_CLAIM_LOCKING=skip-locked, and plain: the portable claim for databases that parse SKIP LOCKED
 * without honouring it). With a long claim TTL the two must never send one reward both: the records
 * they sent add up to the rewards exactly and finance saw no duplicate. With a 1 ms TTL every claim
 * is up for taking at once, so the two do send the same rewards; finance's existing-settlement path
 * and its UNIQUE-race retry must then keep each reward settled once. Each scenario proves from the
 * processes' own log lines that they ran at the same time.
 */
const ROOT = resolve(__dirname, '../..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
const REWARDS = 3000;
const RATES: ReadonlyArray<string | null> = [null, '0.7000', '0.3333'];

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(() => t.close());

interface SyncProcess {
  code: number | null;
  report: { synced: number; batches: number; pending: number } | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

/** `sync run` as an operator starts it (a process of its own), with its JSON log lines from stderr. */
function syncRun(env: Record<string, string>): Promise<SyncProcess> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/cli.ts'), 'sync', 'run'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        DB1_URL: workerDatabaseUrl('db1'),
        DB2_URL: workerDatabaseUrl('db2'),
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => {
      const lines = stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      let report: SyncProcess['report'] = null;
      try {
        report = JSON.parse(stdout) as SyncProcess['report'];
      } catch {
        // Left null: the assertion on the exit code says what went wrong.
      }
      resolveRun({ code, report, lines, stderr: stderr.slice(-4000) });
    });
  });
}

const withMessage = (run: SyncProcess, message: string) => run.lines.filter((line) => line['msg'] === message);
const total = (lines: Array<Record<string, unknown>>, key: string) => lines.reduce((sum, line) => sum + Number(line[key] ?? 0), 0);

interface Stage {
  anchorIds: number[];
  ids: number[];
  totalFen: number;
}

/** Anchors at several rates, a live room each, and REWARDS rewards spread over them. */
async function stage(): Promise<Stage> {
  const admin = await t.auth('admin');
  const rooms: Array<{ anchorId: number; roomId: number; viewerIds: number[] }> = [];
  for (const rate of RATES) {
    const room = await liveStage(t, 2);
    if (rate)
      await t.http.post('/finance/api/v1/commission-rates').set('Authorization', admin).send({ anchorId: room.anchorId, rate }).expect(201);
    rooms.push(room);
  }
  const ids: number[] = [];
  let totalFen = 0;
  for (let start = 0; start < REWARDS; start += 500) {
    const items = Array.from({ length: Math.min(500, REWARDS - start) }, (_, k) => {
      const n = start + k;
      const room = rooms[n % rooms.length]!;
      const fen = 101 + ((n * 7919) % 9899);
      totalFen += fen;
      return { traceId: newTraceId('OVL'), audienceId: room.viewerIds[n % 2], liveRoomId: room.roomId, amount: (fen / 100).toFixed(2) };
    });
    ids.push(...(await storeBatch(t, items)));
  }
  return { anchorIds: rooms.map((r) => r.anchorId), ids, totalFen };
}

/** Finance against the staged rewards: details, their sums, and per anchor the settlement rows, the ledger and the balance. */
async function books(s: Stage) {
  const [details] = await t
    .db2('settlement_detail')
    .whereIn('anchor_id', s.anchorIds)
    .select(t.db2.raw('COUNT(*) AS n, SUM(amount) AS amount, SUM(anchor_amount) AS anchor_share, SUM(platform_amount) AS platform_share'));
  const outside = await t
    .db2('settlement_detail')
    .whereIn('anchor_id', s.anchorIds)
    .whereNotIn('recharge_id', s.ids)
    .count({ n: '*' })
    .first();
  const anchors = [];
  for (const anchorId of s.anchorIds) {
    const share = await t.db2('settlement_detail').where({ anchor_id: anchorId }).sum({ s: 'anchor_amount' }).first();
    const headers = await t.db2('settlement').where({ anchor_id: anchorId }).sum({ s: 'anchor_amount', n: 'record_count' }).first();
    const detailCount = await t.db2('settlement_detail').where({ anchor_id: anchorId }).count({ n: '*' }).first();
    const ledger = await t.db2('balance_ledger').where({ anchor_id: anchorId }).sum({ s: 'available_delta' }).first();
    const balance = await t.db2('anchor_balance').where({ anchor_id: anchorId }).first('available', 'total_income');
    anchors.push({
      anchorId,
      detailShare: Number(share?.['s']),
      headerShare: Number(headers?.['s']),
      headerRecords: Number(headers?.['n']),
      detailRecords: Number(detailCount?.['n']),
      ledger: Number(ledger?.['s']),
      available: Number(balance?.available),
      income: Number(balance?.total_income),
    });
  }
  const states: Array<{ sync_status: string; n: number }> = await t
    .db1('recharge')
    .whereIn('id', s.ids)
    .groupBy('sync_status')
    .select('sync_status', t.db1.raw('COUNT(*) AS n'));
  return {
    details: {
      n: Number(details.n),
      amount: Number(details.amount),
      sharesAddUp: Number(details.anchor_share) + Number(details.platform_share) === Number(details.amount),
      outside: Number(outside?.['n']),
    },
    anchors,
    states: Object.fromEntries(states.map((row) => [row.sync_status, Number(row.n)])),
  };
}

const scenarios = [
  { locking: 'skip-locked', ttlMs: '120000' },
  { locking: 'plain', ttlMs: '120000' },
  { locking: 'skip-locked', ttlMs: '1' },
  { locking: 'plain', ttlMs: '1' },
] as const;

/** Finance's duplicate paths, per scenario, summed by the last test. */
const duplicatePaths: Array<{ scenario: string; duplicates: number; races: number }> = [];

describe('two sync processes at once', () => {
  it.each(scenarios)(
    `when two \`sync run\` processes settle ${REWARDS} rewards at the same time (SYNC_CLAIM_LOCKING=$locking, SYNC_CLAIM_TTL_MS=$ttlMs), then Σ settled = Σ rewards to the fen, each reward once, every balance exact`,
    async ({ locking, ttlMs }) => {
      // What other files of this worker left unsettled goes first: the processes below settle this stage alone.
      await t.runSync();
      expect(await t.db1('recharge').whereIn('sync_status', ['PENDING', 'CLAIMED']).count({ n: '*' }).first()).toEqual({ n: 0 });
      const s = await stage();

      const env = { SYNC_CLAIM_LOCKING: locking, SYNC_CLAIM_TTL_MS: ttlMs };
      const runs = await Promise.all([syncRun({ ...env, SYNC_BATCH_SIZE: '47' }), syncRun({ ...env, SYNC_BATCH_SIZE: '53' })]);
      for (const run of runs) expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });

      const [a, b] = runs.map((run) => withMessage(run, 'sync batch settled').map((line) => Date.parse(String(line['time'])))) as [
        number[],
        number[],
      ];
      const overlapped = a.length > 0 && b.length > 0 && Math.min(...a) < Math.max(...b) && Math.min(...b) < Math.max(...a);
      const sent = total(
        runs.flatMap((run) => withMessage(run, 'sync batch settled')),
        'records',
      );
      const applied = runs.flatMap((run) => withMessage(run, 'settlement batch applied'));
      const duplicates = total(applied, 'duplicates');
      const races = runs.reduce(
        (sum, run) => sum + withMessage(run, 'settlement lost a race on a UNIQUE key; settling the batch again').length,
        0,
      );
      const lostToOthers = total(
        runs.flatMap((run) => withMessage(run, 'sync claim met another sync')),
        'lostToOthers',
      );
      duplicatePaths.push({ scenario: `${locking}/${ttlMs}`, duplicates, races });
      process.stdout.write(
        `e2e overlapping syncs ${locking} ttl ${ttlMs} ms: batches ${a.length} + ${b.length}, records sent ${sent}, accepted ${total(applied, 'accepted')}, duplicates ${duplicates}, UNIQUE races ${races}, plain-claim rows lost to the other ${lostToOthers}\n`,
      );
      expect(overlapped).toBe(true);

      const after = await books(s);
      expect(after.details).toEqual({ n: REWARDS, amount: s.totalFen, sharesAddUp: true, outside: 0 });
      expect(after.states).toEqual({ SYNCED: REWARDS });
      for (const anchor of after.anchors) {
        expect(anchor).toEqual({
          anchorId: anchor.anchorId,
          detailShare: anchor.detailShare,
          headerShare: anchor.detailShare,
          headerRecords: anchor.detailRecords,
          detailRecords: anchor.detailRecords,
          ledger: anchor.detailShare,
          available: anchor.detailShare,
          income: anchor.detailShare,
        });
      }
      expect(after.anchors.reduce((sum, anchor) => sum + anchor.detailRecords, 0)).toBe(REWARDS);
      if (ttlMs !== '1') {
        // Claims that do not expire are never shared: each reward was sent once, by one of the two.
        expect({ sent, duplicates, races }).toEqual({ sent: REWARDS, duplicates: 0, races: 0 });
        expect(total(applied, 'accepted')).toBe(REWARDS);
      }
    },
  );

  it('then, with claims expiring at once, finance met rewards the other process had sent and its duplicate paths kept them settled once', () => {
    const expiring = duplicatePaths.filter((p) => p.scenario.endsWith('/1'));
    expect(expiring).toHaveLength(2);
    expect(expiring.reduce((sum, p) => sum + p.duplicates + p.races, 0)).toBeGreaterThan(0);
  });
});
