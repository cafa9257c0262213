import { once } from 'node:events';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import type { Counter } from 'prom-client';
import {
  bucketTotalsQuery,
  countQuery,
  exportQuery,
  pageQuery,
  type RecordRange,
} from '../../src/modules/audience/rewards/reward-records.repository';
import { localDays } from '../../src/modules/anchor/reward-records/reward-days';
import { createTestPlatform, type TestPlatform } from '../support/platform';
import { recordStage, seedRewards, type RecordStage } from '../support/reward-records';

/**
 * The CSV export at scale (100,000 rewards of one anchor, stored with one INSERT … SELECT over
 * MariaDB's sequence engine), and the plans of every record query on that table.
 *
 * The downloads go over a Unix socket, each on a connection of its own. Over loopback TCP the
 * kernel buffers between the service and a client that stopped reading grow to several MB
 * (autotuned: 4 MB of send buffer, a receive buffer that had grown to 2 MB on a reused keep-alive
 * connection; 38,500 to 59,000 of the 100,000 rows, some 4 to 6 MB, sat there), so what a paused
 * client leaves waiting depended on the kernel, not on the service. A Unix socket's buffer is small
 * and does not grow: 2,500 rows were pulled there.
 */

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const ROWS = 100_000;
/** Heap an export of ROWS rewards may retain while it runs. */
const RETAINED_BOUND = 6 * 1024 * 1024;
const CSV_HEADER = 'rechargeId,traceId,createdAt,liveRoomId,audienceId,amount,status';
/**
 * Rows an export may have taken from the database beyond the lines a paused client has read: the
 * page being written, the one before it in the response's buffer, the socket's buffer and the
 * client's own (about 1,900 rows, 200 kB, measured). Ignoring backpressure takes all 100,000.
 */
const PAUSED_SLACK_ROWS = 5_000;
const SOCKET_PATH = path.join(os.tmpdir(), `reward-export-${process.pid}-${process.env.JEST_WORKER_ID ?? 0}.sock`);

let t: TestPlatform;
let server: http.Server;
let bulk: RecordStage;
let small: RecordStage;
let bulkSumFen: number;

async function insertBulk(stage: RecordStage, rows: number): Promise<void> {
  // 64-character trace ids: each CSV line is about 130 bytes, some 13 MB for the whole export.
  await t.db1.raw(
    `INSERT INTO recharge (trace_id, audience_id, live_room_id, anchor_id, amount, sync_status, created_at)
     SELECT CONCAT('BULK-', ?, '-', LPAD(seq, 52, '0')), IF(seq % 2 = 0, ?, ?), IF(seq % 3 = 0, ?, ?), ?, seq % 1000 + 1, 'SYNCED',
            TIMESTAMPADD(SECOND, seq, '2026-06-01 00:00:00.000')
     FROM seq_1_to_${rows}`,
    [stage.anchorId, stage.viewerIds[0], stage.viewerIds[1], stage.roomId, stage.otherRoomId, stage.anchorId],
  );
}

beforeAll(async () => {
  t = await createTestPlatform();
  server = t.app.listen(SOCKET_PATH);
  await once(server, 'listening');
  bulk = await recordStage(t);
  small = await recordStage(t);
  await insertBulk(bulk, ROWS);
  await seedRewards(t, small.anchorId, [
    { at: '2026-06-01T00:00:00.000Z', fen: 100, audienceId: small.viewerIds[0], liveRoomId: small.roomId },
    { at: '2026-06-02T00:00:00.000Z', fen: 200, audienceId: small.viewerIds[1], liveRoomId: small.roomId },
  ]);
  const sum = (await t.db1('recharge').where('anchor_id', bulk.anchorId).sum({ s: 'amount' }).first()) as { s: number | string };
  bulkSumFen = Number(sum.s);
  await t.db1.raw('ANALYZE TABLE recharge');
}, 120_000);

afterAll(async () => {
  server.close();
  // A hundred thousand rewards in the worker's shared database would slow every later whole-table report.
  // In slices: one DELETE of them all would outlast DB_QUERY_TIMEOUT_MS.
  while ((await t.db1.raw('DELETE FROM recharge WHERE anchor_id = ? LIMIT 10000', [bulk.anchorId]))[0].affectedRows > 0);
  await t.close();
}, 180_000);

interface Download {
  status: number;
  lines: number;
  sumFen: number;
  complete: boolean;
  error: string | null;
  /** Largest heap growth over the baseline, measured after a full GC, while the download ran. */
  retainedGrowth: number;
}

/**
 * A client that reads the CSV slowly, counting lines and summing amounts as they pass without
 * keeping them; `pauseAfterFirstChunk` stops reading for a while once the first chunk's lines are
 * counted (it is told how many).
 */
async function slowDownload(
  urlPath: string,
  options: { pauseAfterFirstChunk?: (received: { lines: number }) => Promise<void>; abortAfterBytes?: number } = {},
): Promise<Download> {
  gc();
  const baseline = process.memoryUsage().heapUsed;
  const request = http.get({
    socketPath: SOCKET_PATH,
    agent: false,
    path: urlPath,
    headers: { authorization: await t.auth('admin') },
  });
  const [response] = (await once(request, 'response')) as [http.IncomingMessage];
  const result: Download = { status: response.statusCode ?? 0, lines: 0, sumFen: 0, complete: false, error: null, retainedGrowth: 0 };
  let partial = '';
  let chunks = 0;
  let bytes = 0;
  try {
    for await (const chunk of response) {
      chunks += 1;
      bytes += (chunk as Buffer).length;
      if (options.abortAfterBytes !== undefined && bytes > options.abortAfterBytes) {
        request.destroy();
        break;
      }
      const lines = (partial + (chunk as Buffer).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        result.lines += 1;
        if (line !== CSV_HEADER) result.sumFen += Math.round(Number(line.split(',')[5]) * 100);
      }
      if (chunks === 1 && options.pauseAfterFirstChunk) await options.pauseAfterFirstChunk({ lines: result.lines });
      if (chunks % 25 === 0) {
        await sleep(2);
        gc();
        result.retainedGrowth = Math.max(result.retainedGrowth, process.memoryUsage().heapUsed - baseline);
      }
    }
  } catch (error) {
    result.error = (error as Error).message;
  }
  result.complete = response.complete;
  return result;
}

/** Rows the exports of this platform have read from the database so far (the service's metric). */
async function exportedRows(): Promise<number> {
  const counter = t.metrics.registry.getSingleMetric('reward_export_rows_total') as Counter;
  return (await counter.get()).values[0]?.value ?? 0;
}

/** What the process holds after a full GC: the heap, and the buffers (where a socket's unread bytes would go). */
function heldMemory(): number {
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** `read()` once it gave the same value twice `quietMs` apart, or its last value at the deadline. */
async function settledValue(read: () => Promise<number>, quietMs: number, deadlineMs: number): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let last = await read();
  for (;;) {
    await sleep(quietMs);
    const now = await read();
    if (now === last || Date.now() > deadline) return now;
    last = now;
  }
}

/** The export's statement as MariaDB's process list shows it, while it runs. */
async function runningExport(anchorId: number): Promise<{ id: number; state: string } | undefined> {
  const [rows] = (await t.db1.raw(
    `SELECT ID AS id, STATE AS state FROM information_schema.PROCESSLIST
     WHERE ID <> CONNECTION_ID() AND INFO LIKE 'select%from \`recharge\`%' AND INFO LIKE ? AND INFO LIKE '%order by \`created_at\` asc%'`,
    [`%\`anchor_id\` = ${anchorId}%`],
  )) as [Array<{ id: number; state: string }>];
  return rows[0];
}

describe('the CSV export of 100,000 rewards', () => {
  it('when read by a slow client, then every line arrives, the sum matches the table, and the heap held stays bounded', async () => {
    const download = await slowDownload(`/anchor/api/v1/anchors/${bulk.anchorId}/rewards.csv`);
    expect(download).toMatchObject({ status: 200, lines: ROWS + 1, sumFen: bulkSumFen, complete: true, error: null });
    // A page or two and the buffers remain (about 1.6 MB measured); holding the rows retains far more (next test).
    expect(download.retainedGrowth).toBeLessThan(RETAINED_BOUND);
  }, 120_000);

  it('when the same rows are loaded at once instead, then they retain several times the bound the export stays under', async () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const rows = (await exportQuery(t.db1, { owner: { anchorId: bulk.anchorId }, from: null, to: null })) as unknown[];
    gc();
    const held = process.memoryUsage().heapUsed - before;
    expect(rows).toHaveLength(ROWS);
    // About 22 MB measured: the bound above would catch an export that held the rows.
    expect(held).toBeGreaterThan(3 * RETAINED_BOUND);
  }, 60_000);

  it('when the client stops reading, then the export stops taking rows from the database (backpressure), holds none of the rest, and resumes when it reads again', async () => {
    const rowsBefore = await exportedRows();
    const memoryBefore = heldMemory();
    let paused = { rowsRead: 0, taken: 0, takenLater: 0, memoryGrowth: 0 };
    const download = await slowDownload(`/anchor/api/v1/anchors/${bulk.anchorId}/rewards.csv`, {
      pauseAfterFirstChunk: async ({ lines }) => {
        // Once the buffers between the export and the client are full, the export takes no more.
        const taken = (await settledValue(exportedRows, 300, 10_000)) - rowsBefore;
        await sleep(1200);
        const takenLater = (await exportedRows()) - rowsBefore;
        paused = { rowsRead: lines - 1, taken, takenLater, memoryGrowth: heldMemory() - memoryBefore };
      },
    });
    // It took no more than what the client read and what the buffers hold, and nothing more over 1.2 s.
    expect(paused.taken - paused.rowsRead).toBeLessThanOrEqual(PAUSED_SLACK_ROWS);
    expect(paused.takenLater).toBe(paused.taken);
    // The rest of the result is not read into the process either (all of it would be some 20 MB): it waits in the database or the kernel.
    expect(paused.memoryGrowth).toBeLessThan(RETAINED_BOUND);
    expect(download).toMatchObject({ lines: ROWS + 1, sumFen: bulkSumFen, complete: true });
    expect((await exportedRows()) - rowsBefore).toBe(ROWS);
  }, 120_000);

  it.each([
    ['its statement is killed', 'QUERY'],
    // mysql2 does not report a connection lost while its result is paused: the export's page timeout (DB_QUERY_TIMEOUT_MS) does.
    ['its connection is killed', 'CONNECTION'],
  ])(
    'when, mid-stream, %s, then the client sees a truncated transfer, not a complete file',
    async (_name, kill) => {
      const download = await slowDownload(`/anchor/api/v1/anchors/${bulk.anchorId}/rewards.csv`, {
        pauseAfterFirstChunk: async () => {
          await sleep(300);
          const statement = await runningExport(bulk.anchorId);
          expect(statement).toBeDefined();
          await t.db1.raw(`KILL ${kill} ${Number(statement?.id)}`);
        },
      });
      expect(download.status).toBe(200);
      expect(download.complete).toBe(false);
      expect(download.error).not.toBeNull();
      expect(download.lines).toBeLessThan(ROWS + 1);
      // The platform goes on answering, the export too (the pool replaced the dead connection).
      const again = await t.http
        .get(`/anchor/api/v1/anchors/${small.anchorId}/rewards.csv`)
        .set('Authorization', await t.auth('admin'))
        .expect(200);
      expect(again.text.trim().split('\n')).toHaveLength(3);
    },
    120_000,
  );

  it('when the client goes away mid-download, then the statement ends and frees its connection', async () => {
    const download = await slowDownload(`/anchor/api/v1/anchors/${bulk.anchorId}/rewards.csv`, { abortAfterBytes: 200_000 });
    expect(download.lines).toBeLessThan(ROWS);
    const deadline = Date.now() + 10_000;
    while ((await runningExport(bulk.anchorId)) && Date.now() < deadline) await sleep(100);
    expect(await runningExport(bulk.anchorId)).toBeUndefined();
  }, 60_000);
});

interface PlanRow {
  table: string;
  type: string;
  key: string | null;
  Extra: string | null;
}

async function planOf(query: Knex.QueryBuilder): Promise<PlanRow> {
  const { sql, bindings } = query.toSQL();
  const [rows] = (await t.db1.raw(`EXPLAIN ${sql}`, bindings)) as [PlanRow[]];
  const row = rows.find((r) => r.table === 'recharge');
  if (!row) throw new Error(`no plan row for recharge: ${JSON.stringify(rows)}`);
  return row;
}

describe('the plans of the record queries (EXPLAIN on MariaDB)', () => {
  const owners = (s: RecordStage) =>
    [
      [{ anchorId: s.anchorId }, 'idx_recharge_anchor_time'],
      [{ liveRoomId: s.roomId }, 'idx_recharge_room_time'],
      [{ audienceId: s.viewerIds[0] }, 'idx_recharge_audience_time'],
    ] as const;

  it.each([
    ['an owner of 100,000 rewards', () => bulk],
    ['an owner of two rewards', () => small],
  ])(
    'when the owner is %s, then each list, count, daily sum and export walks the owner’s index without sorting',
    async (_name, stageOf) => {
      const plans: Record<string, { key: string | null; type: string; sorts: boolean }> = {};
      const expected: Record<string, { key: string; type: string; sorts: boolean }> = {};
      const summarise = (p: PlanRow) => ({
        key: p.key,
        type: p.type === 'ALL' ? 'ALL' : 'indexed',
        sorts: /filesort/i.test(p.Extra ?? ''),
      });
      const { boundaries } = localDays('2026-05-25', '2026-07-01', 'Asia/Shanghai');
      for (const [owner, index] of owners(stageOf())) {
        const name = Object.keys(owner)[0] as string;
        const range: RecordRange = { owner, from: new Date('2026-06-01T00:00:00Z'), to: new Date('2026-06-20T00:00:00Z') };
        const open: RecordRange = { owner, from: null, to: null };
        const cases: Array<[string, Knex.QueryBuilder]> = [
          [`${name} page`, pageQuery(t.db1, range, { upToId: 1e12, offset: 40, limit: 20 })],
          [`${name} page, no range`, pageQuery(t.db1, open, { upToId: 1e12, offset: 0, limit: 20 })],
          [`${name} count`, countQuery(t.db1, range, null)],
          [`${name} count under a snapshot`, countQuery(t.db1, open, 1e12)],
          [`${name} export`, exportQuery(t.db1, range)],
          [`${name} export, no range`, exportQuery(t.db1, open)],
          [`${name} daily`, bucketTotalsQuery(t.db1, owner, boundaries)],
        ];
        for (const [label, query] of cases) {
          plans[label] = summarise(await planOf(query));
          expected[label] = { key: index, type: 'indexed', sorts: false };
        }
      }
      expect(plans).toEqual(expected);
    },
    60_000,
  );
});
