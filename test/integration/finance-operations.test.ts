import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestPlatform, fundedAnchor, liveStage, newTraceId, testEnvironment, type TestPlatform } from '../support/platform';

const ROOT = resolve(__dirname, '../..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
const F = '/finance/api/v1';

/** A day no other test file rewards on: its rewards and settlements are this file's alone. */
const DAY = '2037-11-19';
const ON_DAY = () => new Date('2037-11-19T03:00:00.000Z'); // 11:00 in Asia/Shanghai

async function cli(...args: string[]): Promise<{ code: number; json: unknown; stderr: string }> {
  const env = { ...process.env, ...testEnvironment() } as Record<string, string>;
  return promisify(execFile)(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, env }).then(
    ({ stdout, stderr }) => ({ code: 0, json: JSON.parse(stdout) as unknown, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      json: error.stdout ? (JSON.parse(error.stdout) as unknown) : null,
      stderr: error.stderr,
    }),
  );
}

let t: TestPlatform;
beforeAll(async () => {
  t = await createTestPlatform();
});
afterAll(() => t.close());

describe('settlements', () => {
  it('when settlements are listed for an anchor with details, then each holds its rewards split with their rate, the shares adding up to the fen', async () => {
    const stage = await liveStage(t, 1);
    const auth = await t.auth('service');
    for (const amount of ['10.01', '0.03', '7.77']) {
      await t.http
        .post('/audience/api/v1/recharge')
        .set('Authorization', auth)
        .send({ traceId: newTraceId('SET'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount })
        .expect(201);
    }
    await t.runSync();
    const admin = await t.auth('admin');
    const body = (
      await t.http.get(`${F}/settlements`).query({ anchorId: stage.anchorId, details: 'true' }).set('Authorization', admin).expect(200)
    ).body;
    expect(body.total).toBe(1);
    const [settlement] = body.items;
    expect(settlement).toMatchObject({ anchorId: stage.anchorId, recordCount: 3, totalAmount: '17.81', batchId: expect.any(String) });
    const fen = (s: string) => Math.round(Number(s) * 100);
    expect(fen(settlement.anchorAmount) + fen(settlement.platformAmount)).toBe(1781);
    expect(settlement.details.map((d: { amount: string }) => d.amount)).toEqual(['10.01', '0.03', '7.77']);
    for (const d of settlement.details) {
      expect(d.rate).toBe('0.5000');
      expect(fen(d.anchorAmount) + fen(d.platformAmount)).toBe(fen(d.amount));
    }
    const plain = (await t.http.get(`${F}/settlements`).query({ anchorId: stage.anchorId }).set('Authorization', admin).expect(200)).body;
    expect(plain.items[0]).not.toHaveProperty('details');
    const future = (
      await t.http
        .get(`${F}/settlements`)
        .query({ anchorId: stage.anchorId, from: new Date(Date.now() + 3_600_000).toISOString() })
        .set('Authorization', admin)
        .expect(200)
    ).body;
    expect(future.total).toBe(0);
  });

  it('when the query is malformed, then 400: from after to, a page too large, an unknown parameter', async () => {
    const admin = await t.auth('admin');
    for (const query of [
      { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      { pageSize: 101 },
      { details: 'yes' },
      { anchor: 1 },
    ]) {
      const res = await t.http.get(`${F}/settlements`).query(query).set('Authorization', admin);
      expect({ query, status: res.status, code: res.body.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
    }
  });
});

describe('a day of the sync, DB1 against DB2', () => {
  let day: TestPlatform;
  let anchorId: number;
  beforeAll(async () => {
    day = await createTestPlatform({}, { clock: ON_DAY });
    const stage = await liveStage(day, 1);
    anchorId = stage.anchorId;
    const auth = await day.auth('service');
    for (const amount of ['1.00', '2.50']) {
      await day.http
        .post('/audience/api/v1/recharge')
        .set('Authorization', auth)
        .send({ traceId: newTraceId('DAY'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount })
        .expect(201);
    }
    await day.runSync();
  });
  afterAll(() => day.close());

  it("when the day's summary is read, then finance's settled count and sum per anchor for rewards made that day in TIME_ZONE", async () => {
    const body = (
      await t.http
        .get(`${F}/recharge/sync-summary`)
        .query({ date: DAY })
        .set('Authorization', await t.auth('admin'))
        .expect(200)
    ).body;
    expect(body).toMatchObject({ date: DAY, timeZone: 'Asia/Shanghai', from: '2037-11-18T16:00:00.000Z', to: '2037-11-19T16:00:00.000Z' });
    expect(body.anchors).toEqual([{ anchorId, count: 2, amount: '3.50', anchorAmount: '1.75', platformAmount: '1.75' }]);
    expect(body.total).toEqual({ count: 2, amount: '3.50', anchorAmount: '1.75', platformAmount: '1.75' });
    const other = (
      await t.http
        .get(`${F}/recharge/sync-summary`)
        .query({ date: '2037-11-20' })
        .set('Authorization', await t.auth('admin'))
        .expect(200)
    ).body;
    expect(other.anchors).toEqual([]);
    const bad = await t.http
      .get(`${F}/recharge/sync-summary`)
      .query({ date: '2031-02-30' })
      .set('Authorization', await t.auth('admin'));
    expect(bad.status).toBe(400);
  });

  it('when the CLI compares the day, then exit 0 while DB1 and DB2 agree, and exit 4 naming the anchor once DB2 lost a settled reward', async () => {
    const agreed = await cli('sync', 'compare', '--date', DAY);
    expect(agreed.code).toBe(0);
    expect(agreed.json).toMatchObject({
      date: DAY,
      clean: true,
      total: { db1Synced: { count: 2, amount: '3.50' }, db2Settled: { count: 2, amount: '3.50' } },
      anchors: [{ anchorId, verdict: 'match' }],
    });

    const detail = await t.db2('settlement_detail').where({ anchor_id: anchorId }).orderBy('id').first();
    await t.db2('settlement_detail').where({ id: detail.id }).delete();
    try {
      const lost = await cli('sync', 'compare', '--date', DAY);
      expect(lost.code).toBe(4);
      expect(lost.json).toMatchObject({
        clean: false,
        anchors: [{ anchorId, verdict: 'missing', db1: { synced: { count: 2 } }, db2: { count: 1 } }],
      });
    } finally {
      await t.db2('settlement_detail').insert(detail);
    }
    expect((await cli('sync', 'compare', '--date', 'yesterday')).code).toBe(1);
  });
});

describe('operators at the CLI', () => {
  it('when a withdrawal is listed, approved and paid with the CLI, then it prints the withdrawal as the API shows it and the balance follows', async () => {
    const { anchorId } = await fundedAnchor(t, '40.00');
    const applied = await t.http
      .post(`${F}/withdrawals`)
      .set('Authorization', await t.auth('anchor', anchorId))
      .send({ anchorId, amount: '15.00', requestId: newTraceId('CLI') })
      .expect(201);
    const id = applied.body.withdrawalId as number;

    const listed = await cli('withdrawal', 'list', '--anchor', String(anchorId), '--status', 'PENDING');
    expect(listed).toMatchObject({ code: 0, json: { total: 1, items: [{ withdrawalId: id, amount: '15.00', status: 'PENDING' }] } });
    expect(await cli('withdrawal', 'approve', String(id), '--by', '7')).toMatchObject({
      code: 0,
      json: { withdrawalId: id, status: 'APPROVED' },
    });
    expect(await cli('withdrawal', 'pay', String(id), '--by', '7')).toMatchObject({ code: 0, json: { withdrawalId: id, status: 'PAID' } });
    const again = await cli('withdrawal', 'pay', String(id), '--by', '7');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/PAID cannot be paid/);
    expect(await t.db2('withdrawal').where({ id }).first()).toMatchObject({ status: 'PAID', reviewed_by: 7 });
    const balance = (
      await t.http
        .get(`${F}/balances/${anchorId}`)
        .set('Authorization', await t.auth('admin'))
        .expect(200)
    ).body;
    expect(balance).toMatchObject({ available: '25.00', frozen: '0.00', totalWithdrawn: '15.00' });
  });

  it('when the CLI audits an anchor whose books are right, then exit 0; once a ledger line is forged, exit 5 naming the broken chain', async () => {
    const { anchorId } = await fundedAnchor(t, '20.00');
    const clean = await cli('audit', '--anchor', String(anchorId));
    expect(clean).toMatchObject({ code: 0, json: { clean: true, anchors: 1, breaches: [] } });
    const line = await t.db2('balance_ledger').where({ anchor_id: anchorId }).orderBy('id', 'desc').first();
    await t
      .db2('balance_ledger')
      .where({ id: line.id })
      .update({ available_after: Number(line.available_after) + 100 });
    try {
      const forged = await cli('audit', '--anchor', String(anchorId));
      expect(forged.code).toBe(5);
      expect(forged.json).toMatchObject({ clean: false, breaches: [{ check: 'ledger-chain', anchorId }] });
    } finally {
      await t.db2('balance_ledger').where({ id: line.id }).update({ available_after: line.available_after });
    }
  });

  it('when a rate is set with the CLI, then it is in force and listed', async () => {
    const { anchorId } = await liveStage(t, 0);
    const set = await cli('commission', 'set', '--anchor', String(anchorId), '--rate', '0.7250');
    expect(set).toMatchObject({ code: 0, json: { anchorId, rate: '0.7250' } });
    const effective = (
      await t.http
        .get(`${F}/commission-rates/${anchorId}`)
        .set('Authorization', await t.auth('admin'))
        .expect(200)
    ).body;
    expect(effective).toMatchObject({ anchorId, rate: '0.7250', source: 'anchor' });
    const listed = await cli('commission', 'list');
    expect(listed.code).toBe(0);
    expect((listed.json as { items: Array<{ anchorId: number; rate: string }> }).items).toContainEqual(
      expect.objectContaining({ anchorId, rate: '0.7250' }),
    );
    expect((await cli('commission', 'set', '--anchor', String(anchorId), '--rate', '1.5')).code).toBe(1);
  });
});
