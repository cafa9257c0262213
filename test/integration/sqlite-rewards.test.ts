import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

/**
 * The embedded default (SQLite files, no Redis) under the races the MariaDB tests run: many
 * requests at once, one trace id several times, and a duplicate key raised by SQLite itself.
 */
const URL = '/audience/api/v1/recharge';

let dir: string;
let t: TestPlatform;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tipping-sqlite-rewards-'));
  t = await createTestPlatform({
    DB1_URL: `sqlite:${join(dir, 'db1.sqlite')}`,
    DB2_URL: `sqlite:${join(dir, 'db2.sqlite')}`,
    REDIS_URL: undefined,
    AUTO_MIGRATE: 'true',
  });
});

afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

async function consumption(audienceIds: number[]): Promise<{ totalAmount: number; rewardCount: number }> {
  const row = await t.db1('audience').whereIn('id', audienceIds).sum({ s: 'total_amount' }).sum({ c: 'reward_count' }).first();
  return { totalAmount: Number(row?.['s']), rewardCount: Number(row?.['c']) };
}

describe('rewards on the embedded SQLite default', () => {
  it('when the platform runs, then both stores are SQLite and Redis is off', async () => {
    expect([t.db1.client.driverName, t.db2.client.driverName]).toEqual(['better-sqlite3', 'better-sqlite3']);
    const health = await t.http.get('/health').expect(200);
    expect(health.body.components.redis).toEqual({ status: 'DISABLED' });
  });

  it('when 200 identical requests race, then exactly one row exists, one answer is 201, the rest 200, all with one body', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const auth = await t.auth('service');
    const body = { traceId: newTraceId('SQ1'), audienceId, liveRoomId: roomId, amount: '3.33' };
    const answers = await Promise.all(Array.from({ length: 200 }, () => t.http.post(URL).set('Authorization', auth).send(body)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(199);
    expect(answers.filter((a) => a.status === 200).every((a) => a.headers['idempotent-replayed'] === 'true')).toBe(true);
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect(await t.db1('recharge').where({ trace_id: body.traceId })).toHaveLength(1);
    expect(await consumption([audienceId])).toEqual({ totalAmount: 333, rewardCount: 1 });
  });

  it('when 300 different rewards arrive at once, then every one is stored exactly once and consumption and room figures sum to the fen', async () => {
    const { roomId, viewerIds } = await liveStage(t, 5);
    const requests = Array.from({ length: 300 }, (_, i) => ({
      traceId: newTraceId('SQ300'),
      audienceId: viewerIds[i % 5]!,
      liveRoomId: roomId,
      amount: ((i % 7) + 1) * 101,
    }));
    const auth = await t.auth('service');
    const answers = await Promise.all(requests.map((body) => t.http.post(URL).set('Authorization', auth).send(body)));
    expect(answers.filter((a) => a.status !== 201).map((a) => [a.status, a.body.code])).toEqual([]);
    expect(new Set(answers.map((a) => a.body.rechargeId)).size).toBe(300);
    const rows = await t.db1('recharge').where({ live_room_id: roomId }).select('id', 'trace_id', 'amount');
    expect(rows.map((row) => [row.trace_id, row.id]).sort()).toEqual(
      answers.map((a, i) => [requests[i]!.traceId, a.body.rechargeId]).sort(),
    );
    const expectedFen = requests.reduce((sum, r) => sum + r.amount * 100, 0);
    expect(rows.reduce((sum, row) => sum + Number(row.amount), 0)).toBe(expectedFen);
    expect(await consumption(viewerIds)).toEqual({ totalAmount: expectedFen, rewardCount: 300 });
    const figures = await t.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200);
    expect(figures.body).toMatchObject({ totalEarnings: (expectedFen / 100).toFixed(2), rechargeCount: 300, source: 'db' });
  });

  it('when a batch holds one traceId twice and once with other content, then 201, a 200 with the same id, a 409, and one row', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const reward = { traceId: newTraceId('SQB'), audienceId, liveRoomId: roomId, amount: '4.04' };
    const other = { traceId: newTraceId('SQB'), audienceId, liveRoomId: roomId, amount: '1.01' };
    const res = await t.http
      .post(`${URL}/batch`)
      .set('Authorization', await t.auth('service'))
      .send({ items: [reward, other, reward, { ...reward, amount: '9.99' }] })
      .expect(200);
    expect(res.body.results).toEqual([
      { index: 0, status: 201, rechargeId: expect.any(Number) },
      { index: 1, status: 201, rechargeId: expect.any(Number) },
      { index: 2, status: 200, rechargeId: res.body.results[0].rechargeId },
      { index: 3, status: 409, code: 'IDEMPOTENCY_CONFLICT' },
    ]);
    const rows = await t.db1('recharge').whereIn('trace_id', [reward.traceId, other.traceId]).select('id', 'trace_id', 'amount');
    expect(rows.map((row) => [row.id, row.trace_id, row.amount]).sort()).toEqual(
      [
        [res.body.results[0].rechargeId, reward.traceId, 404],
        [res.body.results[1].rechargeId, other.traceId, 101],
      ].sort(),
    );
    expect(await consumption([audienceId])).toEqual({ totalAmount: 505, rewardCount: 2 });
  });

  it('when another writer stores the traceId between the check and the INSERT, then SQLite refuses the duplicate and the answer is a 200 replay of its row', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const body = { traceId: newTraceId('SQDUP'), audienceId, liveRoomId: roomId, amount: '2.50' };
    const session = (await t.db1('live_room').where({ id: roomId }).first()).current_session_id as number;
    // A second connection to the file, as another process would have: better-sqlite3 answers at once.
    const other = new Database(join(dir, 'db1.sqlite'));
    const inserts: string[] = [];
    let otherRowId = 0;
    const storeFirstElsewhere = (query: Knex.Sql) => {
      if (!/^insert into `recharge`/i.test(query.sql)) return;
      inserts.push(query.sql);
      if (inserts.length > 1) return;
      // The writer checked the trace id (not stored) and is about to insert it: the other writer wins.
      const createdAt = new Date().toISOString().replace('T', ' ').replace('Z', '');
      other.transaction(() => {
        otherRowId = Number(
          other
            .prepare(
              `INSERT INTO recharge (trace_id, audience_id, live_room_id, anchor_id, live_session_id, amount, created_at, sync_status)
               VALUES (?, ?, ?, ?, ?, 250, ?, 'PENDING')`,
            )
            .run(body.traceId, audienceId, roomId, anchorId, session, createdAt).lastInsertRowid,
        );
        other
          .prepare('UPDATE audience SET total_amount = total_amount + 250, reward_count = reward_count + 1 WHERE id = ?')
          .run(audienceId);
      })();
    };
    t.db1.on('query', storeFirstElsewhere);
    let res;
    try {
      res = await t.http
        .post(URL)
        .set('Authorization', await t.auth('service'))
        .send(body);
    } finally {
      t.db1.off('query', storeFirstElsewhere);
      other.close();
    }
    expect(otherRowId).toBeGreaterThan(0);
    // The group's INSERT met the duplicate, and so did the reward's retry on its own.
    expect(inserts).toHaveLength(2);
    expect({ status: res.status, rechargeId: res.body.rechargeId, replayed: res.headers['idempotent-replayed'] }).toEqual({
      status: 200,
      rechargeId: otherRowId,
      replayed: 'true',
    });
    expect(await t.db1('recharge').where({ trace_id: body.traceId })).toHaveLength(1);
    expect(await consumption([audienceId])).toEqual({ totalAmount: 250, rewardCount: 1 });
  });
});
