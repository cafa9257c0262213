import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRealtimeStore, roomKeys } from '../../src/modules/anchor/realtime/realtime.redis';
import { runCli } from '../support/cli-process';
import { createTestPlatform, liveStage, newTraceId, testEnvironment, type TestPlatform } from '../support/platform';
import { PrivateRedis, waitUntil } from '../support/private-redis';
import { metricSample, metricsOf } from '../support/prometheus';

const REWARD = '/audience/api/v1/recharge';
const APPLY = '/anchor/api/v1/live-rooms/realtime/reward';

/** The id the next reward will get (InnoDB's AUTO_INCREMENT counter of the worker's DB1). */
async function nextRechargeId(t: TestPlatform): Promise<number> {
  const [rows] = (await t.db1.raw(
    "SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'recharge'",
  )) as [Array<{ next: number }>];
  return Number(rows[0]?.next);
}

async function refusals(t: TestPlatform, reason: string): Promise<number> {
  const text = (await t.http.get('/actuator/prometheus').expect(200)).text;
  const line = text.split('\n').find((l) => l.startsWith(`realtime_rewards_refused_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Σ of the room's stored rewards (the source of truth) in fen, and their count. */
async function truth(t: TestPlatform, roomId: number): Promise<{ fen: number; count: number }> {
  const row = await t.db1('recharge').where({ live_room_id: roomId }).sum({ s: 'amount' }).count({ n: '*' }).first();
  return { fen: Number(row?.['s'] ?? 0), count: Number(row?.['n']) };
}

/** The flushed row and what the journal behind it says: they must always agree. */
/** The room's row and its journal, read in one statement: one snapshot, whatever flush runs meanwhile. */
async function flushed(t: TestPlatform, roomId: number) {
  const journal = (column: string) =>
    t
      .db1('live_room_applied_reward')
      .where({ live_room_id: roomId })
      .select(t.db1.raw(`COALESCE(${column}, 0)`));
  const row = (await t
    .db1('live_room_realtime')
    .where({ live_room_id: roomId })
    .select('total_earnings', 'recharge_count', { journal_fen: journal('SUM(amount)') }, { journal_count: journal('COUNT(*)') })
    .first()) as { total_earnings: number; recharge_count: number; journal_fen: number | string; journal_count: number | string };
  return {
    fen: Number(row.total_earnings),
    count: Number(row.recharge_count),
    journalFen: Number(row.journal_fen),
    journalCount: Number(row.journal_count),
  };
}

async function realtime(t: TestPlatform, roomId: number) {
  return (await t.http.get(`/anchor/api/v1/live-rooms/${roomId}/realtime`).expect(200)).body as {
    totalEarnings: string;
    rechargeCount: number;
    source: string;
    status: string;
    anchorId: number;
  };
}

function yuan(fen: number): string {
  return `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

/** `count` rewards of varying amounts from the stage's viewers, `concurrency` at a time; returns the 201 bodies. */
async function reward(
  t: TestPlatform,
  stage: { roomId: number; viewerIds: number[] },
  count: number,
  concurrency = 20,
): Promise<Array<{ rechargeId: number }>> {
  const auth = await t.auth('service');
  const created: Array<{ rechargeId: number }> = [];
  for (let start = 0; start < count; start += concurrency) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(concurrency, count - start) }, (_, i) =>
        t.http
          .post(REWARD)
          .set('Authorization', auth)
          .send({
            traceId: newTraceId('RT'),
            audienceId: stage.viewerIds[(start + i) % stage.viewerIds.length],
            liveRoomId: stage.roomId,
            amount: yuan(101 + (((start + i) * 53) % 997)),
          }),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(201);
      created.push(answer.body);
    }
  }
  return created;
}

describe('realtime figures with Redis', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ REALTIME_FLUSH_THRESHOLD: '7' });
  });
  afterAll(() => t.close());

  it('when rewards arrive, then the figures move at once, flushes happen every 7 rewards, and figures = Σ rewards throughout', async () => {
    const stage = await liveStage(t, 3);
    const before = await realtime(t, stage.roomId);
    expect(before).toMatchObject({ totalEarnings: '0.00', rechargeCount: 0, source: 'redis', status: 'LIVE', anchorId: stage.anchorId });

    await reward(t, stage, 1, 1);
    const one = await truth(t, stage.roomId);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(one.fen), rechargeCount: 1 });

    await reward(t, stage, 60, 12);
    const all = await truth(t, stage.roomId);
    expect(all.count).toBe(61);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 61, source: 'redis' });
    // Flushes ran in the background: DB1 already holds most of it, and the row equals its journal.
    await waitUntil(async () => (await flushed(t, stage.roomId)).count >= 49, 'background flushes', 10_000);
    const mid = await flushed(t, stage.roomId);
    expect(mid.fen).toBe(mid.journalFen);
    expect(mid.count).toBe(mid.journalCount);

    await t.http
      .post(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime/flush`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect(await flushed(t, stage.roomId)).toEqual({ fen: all.fen, count: 61, journalFen: all.fen, journalCount: 61 });
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 61 });
    expect(await t.redis.client!.exists(`live:room:earnings:{${stage.roomId}}`, `live:room:flushing:{${stage.roomId}}`)).toBe(0);
  });

  it('when a stored reward is applied again over the internal endpoint, then it counts once, before and after a flush', async () => {
    const stage = await liveStage(t, 1);
    const sent = await t.http
      .post(REWARD)
      .set('Authorization', await t.auth('service'))
      .send({ traceId: newTraceId('DUP'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '12.34' })
      .expect(201);
    const internal = await t.auth('internal');
    const body = {
      rechargeId: sent.body.rechargeId,
      traceId: sent.body.traceId,
      liveRoomId: stage.roomId,
      audienceId: stage.viewerIds[0],
      amount: '12.34',
    };
    const again = await t.http.post(APPLY).set('Authorization', internal).send(body).expect(200);
    expect(again.body).toEqual({ liveRoomId: stage.roomId, totalEarnings: '12.34', rechargeCount: 1, degraded: false });
    await t.http
      .post(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime/flush`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    const late = await t.http.post(APPLY).set('Authorization', internal).send(body).expect(200);
    expect(late.body.totalEarnings).toBe('12.34');
    await t.http
      .post(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime/flush`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect(await flushed(t, stage.roomId)).toEqual({ fen: 1234, count: 1, journalFen: 1234, journalCount: 1 });
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: '12.34', rechargeCount: 1 });
  });

  it('when a reward flushed two flushes ago is replayed over the internal endpoint, then the figures do not move even for a moment', async () => {
    const stage = await liveStage(t, 1);
    const service = await t.auth('service');
    const flush = async () =>
      t.http
        .post(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime/flush`)
        .set('Authorization', await t.auth('admin'))
        .expect(200);
    const first = await t.http
      .post(REWARD)
      .set('Authorization', service)
      .send({ traceId: newTraceId('OLD'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '100.00' })
      .expect(201);
    await flush();
    await t.http
      .post(REWARD)
      .set('Authorization', service)
      .send({ traceId: newTraceId('OLD'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '100.00' })
      .expect(201);
    await flush();
    const replay = await t.http
      .post(APPLY)
      .set('Authorization', await t.auth('internal'))
      .send({
        rechargeId: first.body.rechargeId,
        traceId: first.body.traceId,
        liveRoomId: stage.roomId,
        audienceId: stage.viewerIds[0],
        amount: '100.00',
      })
      .expect(200);
    expect(replay.body).toEqual({ liveRoomId: stage.roomId, totalEarnings: '200.00', rechargeCount: 2, degraded: false });
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: '200.00', rechargeCount: 2 });
  });

  it('when the internal endpoint gets a bad amount or one above the ceiling, then 400 before anything is looked up, and nothing is counted', async () => {
    const internal = await t.auth('internal');
    const stage = await liveStage(t, 1);
    await t.http
      .post(APPLY)
      .set('Authorization', internal)
      .send({ rechargeId: 1, traceId: 'x', liveRoomId: stage.roomId, audienceId: 1, amount: '0' })
      .expect(400);
    // Above the ceiling of any single amount, so no room's total can leave the exact range of a number.
    const tooLarge = await t.http
      .post(APPLY)
      .set('Authorization', internal)
      .send({ rechargeId: 1, traceId: 'x', liveRoomId: stage.roomId, audienceId: 1, amount: '10000000.01' })
      .expect(400);
    expect(tooLarge.body.errors).toEqual([{ field: 'amount', message: 'must not exceed the maximum of 10000000.00' }]);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: '0.00', rechargeCount: 0 });
  });

  it('when the internal endpoint names a reward that does not exist yet, then 409 REWARD_MISMATCH, nothing is counted, and the real reward that later gets the id is counted', async () => {
    const stage = await liveStage(t, 1);
    const refusedBefore = await refusals(t, 'unknown_reward');
    const internal = await t.auth('internal');
    const forgedId = await nextRechargeId(t);
    const forged = await t.http
      .post(APPLY)
      .set('Authorization', internal)
      .send({
        rechargeId: forgedId,
        traceId: newTraceId('FORGED'),
        liveRoomId: stage.roomId,
        audienceId: stage.viewerIds[0],
        amount: '5000.00',
      });
    expect({ status: forged.status, code: forged.body.code, errors: forged.body.errors }).toEqual({
      status: 409,
      code: 'REWARD_MISMATCH',
      errors: [{ field: 'rechargeId', message: 'names no stored reward' }],
    });
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: '0.00', rechargeCount: 0 });
    expect(await refusals(t, 'unknown_reward')).toBe(refusedBefore + 1);

    const real = await t.http
      .post(REWARD)
      .set('Authorization', await t.auth('service'))
      .send({ traceId: newTraceId('REAL'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '1.00' })
      .expect(201);
    expect(real.body.rechargeId).toBe(forgedId);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: '1.00', rechargeCount: 1 });
    await t.http
      .post(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime/flush`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect(await flushed(t, stage.roomId)).toEqual({ fen: 100, count: 1, journalFen: 100, journalCount: 1 });
  });

  it('when the internal endpoint names a stored reward with another room, viewer, amount or traceId, then 409 naming each field and nothing is counted anywhere', async () => {
    const stage = await liveStage(t, 2);
    const other = await liveStage(t, 1);
    const sent = await t.http
      .post(REWARD)
      .set('Authorization', await t.auth('service'))
      .send({ traceId: newTraceId('TRUE'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '2.00' })
      .expect(201);
    const refusedBefore = await refusals(t, 'mismatch');
    const res = await t.http
      .post(APPLY)
      .set('Authorization', await t.auth('internal'))
      .send({
        rechargeId: sent.body.rechargeId,
        traceId: newTraceId('LIE'),
        liveRoomId: other.roomId,
        audienceId: stage.viewerIds[1],
        amount: '2000.00',
      })
      .expect(409);
    expect(res.body.code).toBe('REWARD_MISMATCH');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['amount', 'audienceId', 'liveRoomId', 'traceId']);
    expect(await refusals(t, 'mismatch')).toBe(refusedBefore + 1);
    expect(await realtime(t, other.roomId)).toMatchObject({ totalEarnings: '0.00', rechargeCount: 0 });
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: '2.00', rechargeCount: 1 });
  });

  it("when one room's script call fails in a turn that also applies other rooms (its key holds the wrong type), then only that room's rewards go straight to DB1; the others are counted in Redis, each once", async () => {
    const stages = [await liveStage(t, 1), await liveStage(t, 1), await liveStage(t, 1)];
    const broken = stages[1]!;
    // A first reward each, flushed: every room's base is known, so the batch's applies all run in one
    // turn, and no room holds a pending delta the broken key could lose.
    for (const stage of stages) {
      await reward(t, stage, 1, 1);
      await t.http
        .post(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime/flush`)
        .set('Authorization', await t.auth('admin'))
        .expect(200);
    }
    const applied = async () => {
      const text = await metricsOf(t);
      const value = (path: string) => metricSample(text, 'realtime_rewards_total', { path, outcome: 'applied' });
      return { db: value('db'), redis: value('redis') };
    };
    const before = await applied();
    const earningsKey = roomKeys(broken.roomId).earnings;
    expect(await t.redis.client!.exists(earningsKey)).toBe(0);
    await t.redis.client!.hset(earningsKey, 'not', 'a counter');

    const items = stages.flatMap((stage) =>
      [1, 2, 3].map((n) => ({ traceId: newTraceId('TURN'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: `${n}.00` })),
    );
    const batch = await t.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', await t.auth('service'))
      .send({ items })
      .expect(200);
    expect(batch.body.results.map((r: { status: number }) => r.status)).toEqual(Array(9).fill(201));
    const idsOf = (roomId: number) =>
      batch.body.results
        .filter((_: unknown, i: number) => items[i]!.liveRoomId === roomId)
        .map((r: { rechargeId: number }) => String(r.rechargeId));

    expect(await applied()).toEqual({ db: before.db + 3, redis: before.redis + 6 });
    for (const stage of [stages[0]!, stages[2]!]) {
      const pending = await t.redis.client!.hkeys(roomKeys(stage.roomId).pendingIds);
      expect(pending).toEqual(expect.arrayContaining(idsOf(stage.roomId)));
      expect(await t.db1('live_room_applied_reward').whereIn('recharge_id', idsOf(stage.roomId))).toHaveLength(0);
    }
    const journal = await t.db1('live_room_applied_reward').whereIn('recharge_id', idsOf(broken.roomId)).select('recharge_id');
    expect(journal.map((row: { recharge_id: number }) => String(row.recharge_id)).sort()).toEqual(idsOf(broken.roomId).sort());

    await t.redis.client!.del(earningsKey);
    for (const stage of stages) {
      await t.http
        .post(`/anchor/api/v1/live-rooms/${stage.roomId}/realtime/flush`)
        .set('Authorization', await t.auth('admin'))
        .expect(200);
      const sum = await truth(t, stage.roomId);
      expect(await flushed(t, stage.roomId)).toEqual({ fen: sum.fen, count: 4, journalFen: sum.fen, journalCount: 4 });
    }
  });

  it('when several rooms are read at once, then each has its own figures and unknown ids are left out', async () => {
    const a = await liveStage(t, 1);
    const b = await liveStage(t, 1);
    await reward(t, a, 3, 3);
    const res = await t.http.get(`/anchor/api/v1/live-rooms/realtime?ids=${a.roomId},${b.roomId},999999998`).expect(200);
    expect(res.body.items.map((i: { liveRoomId: number; rechargeCount: number }) => [i.liveRoomId, i.rechargeCount])).toEqual([
      [a.roomId, 3],
      [b.roomId, 0],
    ]);
    await t.http.get('/anchor/api/v1/live-rooms/realtime?ids=1,abc').expect(400);
    // Beyond 2^53 an id would be rounded to another room's: 400, as in a path.
    const huge = await t.http.get('/anchor/api/v1/live-rooms/realtime?ids=1,9999999999999999').expect(400);
    expect(huge.body.errors).toEqual([{ field: 'ids', message: 'must be 1 to 100 comma-separated positive integer ids' }]);
  });

  it('when a room stops, then the realtime status follows at once (the cached copy is dropped)', async () => {
    const stage = await liveStage(t, 1);
    expect((await realtime(t, stage.roomId)).status).toBe('LIVE');
    await t.http
      .post(`/anchor/api/v1/live-rooms/${stage.roomId}/stop`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect((await realtime(t, stage.roomId)).status).toBe('IDLE');
  });
});

describe('realtime flush crash safety', () => {
  let t: TestPlatform;
  let redis: PrivateRedis;
  beforeAll(async () => {
    // A Redis of its own: the CLI's flush must meet this file's rooms alone.
    redis = await PrivateRedis.start();
    // What is tested is the flush CLI killed mid-flush; the rewards before it are set-up, whose room check
    // must not be refused by a stall of this loaded test process longer than the 500 ms default (a 503 in CI).
    t = await createTestPlatform({ REDIS_URL: redis.url, REALTIME_FLUSH_THRESHOLD: '100000', ANCHOR_CALL_TIMEOUT_MS: '5000' });
  });
  afterAll(async () => {
    await t.close();
    await redis.dispose();
  });

  const store = () => createRealtimeStore(t.redis.client!, '');
  /** `realtime flush` in a process of its own, on this describe's Redis, armed with `failpoints` if given. */
  const flushCli = (failpoints?: string) =>
    runCli(['realtime', 'flush'], testEnvironment({ REDIS_URL: redis.url, ...(failpoints ? { FAILPOINTS: failpoints } : {}) }));
  const realtimeRow = async (roomId: number) =>
    (await t.db1('live_room_realtime').where({ live_room_id: roomId }).first()) as { last_flush_id: number; recharge_count: number };

  it('when `realtime flush` is SIGKILLed right after its snapshot (flush.afterSnapshot), then Redis holds the snapshot, DB1 is untouched, reads stay exact and the next flush completes it once', async () => {
    const stage = await liveStage(t, 2);
    await reward(t, stage, 15, 5);
    const killed = await flushCli('flush.afterSnapshot=kill');
    expect([killed.signal, killed.struck]).toEqual(['SIGKILL', ['flush.afterSnapshot: kill']]);
    // Only between the snapshot and DB1's transaction: the delta moved aside in Redis, DB1 not yet moved.
    expect(await t.redis.client!.hmget(roomKeys(stage.roomId).flushing, 'id', 'count')).toEqual(['1', '15']);
    expect(await t.redis.client!.exists(roomKeys(stage.roomId).count)).toBe(0);
    expect(await realtimeRow(stage.roomId)).toMatchObject({ last_flush_id: 0, recharge_count: 0 });
    // New rewards keep coming meanwhile.
    await reward(t, stage, 6, 3);
    const all = await truth(t, stage.roomId);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 21 });

    const after = await flushCli();
    expect(after.code).toBe(0);
    expect(await flushed(t, stage.roomId)).toEqual({ fen: all.fen, count: 21, journalFen: all.fen, journalCount: 21 });
    expect(await t.redis.client!.exists(roomKeys(stage.roomId).flushing)).toBe(0);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 21 });
  });

  it('when `realtime flush` is SIGKILLed after its DB1 commit but before the acknowledgement (flush.afterDb1Commit), then DB1 and Redis both hold the delta and nothing is counted twice, then or after the next flush', async () => {
    const stage = await liveStage(t, 2);
    await reward(t, stage, 12, 4);
    const killed = await flushCli('flush.afterDb1Commit=kill');
    expect([killed.signal, killed.struck]).toEqual(['SIGKILL', ['flush.afterDb1Commit: kill']]);
    // Only between DB1's commit and the acknowledgement: DB1's last_flush_id is the snapshot's, which Redis still holds.
    const [snapshotId, snapshotCount] = await t.redis.client!.hmget(roomKeys(stage.roomId).flushing, 'id', 'count');
    expect(snapshotCount).toBe('12');
    expect(await realtimeRow(stage.roomId)).toMatchObject({ last_flush_id: Number(snapshotId), recharge_count: 12 });
    const all = await truth(t, stage.roomId);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 12 });

    await reward(t, stage, 4, 4);
    const after = await flushCli();
    expect(after.code).toBe(0);
    const now = await truth(t, stage.roomId);
    expect(await flushed(t, stage.roomId)).toEqual({ fen: now.fen, count: 16, journalFen: now.fen, journalCount: 16 });
    expect(await t.redis.client!.exists(roomKeys(stage.roomId).flushing)).toBe(0);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(now.fen), rechargeCount: 16 });
  });

  it('when another instance snapshots with a flush id read before a flush was acknowledged, then the new delta still reaches DB1 once', async () => {
    const stage = await liveStage(t, 2);
    await reward(t, stage, 5, 5);
    // Instance B reads last_flush_id (0) and is descheduled; instance A flushes and acknowledges flush 1.
    const staleCandidate = 1;
    await t.flushRealtime();
    expect(await flushed(t, stage.roomId)).toMatchObject({ count: 5 });
    await reward(t, stage, 3, 3);
    // B wakes up and snapshots the new pending delta with its stale candidate id.
    const snap = await store().snapshot(stage.roomId, staleCandidate);
    expect(snap).toMatchObject({ count: 3, resumed: false });
    expect(snap!.id).toBeGreaterThan(1);
    // Whoever finishes that flush (here the next job) must fold it into DB1, not take it for flush 1.
    await t.flushRealtime();
    const all = await truth(t, stage.roomId);
    expect(await flushed(t, stage.roomId)).toEqual({ fen: all.fen, count: 8, journalFen: all.fen, journalCount: 8 });
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 8 });
  });
});

describe('realtime without Redis', () => {
  let t: TestPlatform;
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    await redis.kill();
    t = await createTestPlatform({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t.close();
    await redis.dispose();
  });

  it('when Redis is down before start, then rewards are 201, figures go straight to DB1 (source db), and equal Σ rewards', async () => {
    const stage = await liveStage(t, 2);
    const started = Date.now();
    await reward(t, stage, 30, 10);
    expect(Date.now() - started).toBeLessThan(15_000);
    const all = await truth(t, stage.roomId);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 30, source: 'db' });
    expect(await flushed(t, stage.roomId)).toEqual({ fen: all.fen, count: 30, journalFen: all.fen, journalCount: 30 });
  });

  it('when Redis comes up, then the module switches back to Redis by itself and the figures stay exact', async () => {
    const stage = await liveStage(t, 2);
    await reward(t, stage, 5, 5);
    await redis.restart();
    await waitUntil(async () => (await realtime(t, stage.roomId)).source === 'redis', 'realtime back on Redis', 10_000);
    await reward(t, stage, 8, 4);
    const all = await truth(t, stage.roomId);
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 13, source: 'redis' });
    expect(await t.redis.client!.get(`live:room:recharge_count:{${stage.roomId}}`)).toBe('8');
  });
});

describe('realtime when Redis fails mid-load', () => {
  let t: TestPlatform;
  let redis: PrivateRedis;
  beforeAll(async () => {
    // Production Redis keeps what it acknowledged (AOF, fsync always), so a killed Redis comes back with its deltas.
    redis = await PrivateRedis.start({ durable: true });
    t = await createTestPlatform({ REDIS_URL: redis.url, REALTIME_FLUSH_THRESHOLD: '25' });
  });
  afterAll(async () => {
    await t.close();
    await redis.dispose();
  });

  it('when Redis is killed in the middle of a load and restarted, then every reward is 201, some met the outage (counted straight into DB1), and the figures end = Σ rewards', async () => {
    const stage = await liveStage(t, 4);
    /** Rewards counted straight into DB1 (a journal line no flush wrote): those that met Redis down. */
    const metOutage = async () =>
      Number(
        (await t.db1('live_room_applied_reward').where({ live_room_id: stage.roomId }).whereNull('flush_id').count({ n: '*' }).first())?.[
          'n'
        ],
      );
    const load = reward(t, stage, 240, 16);
    await waitUntil(async () => (await truth(t, stage.roomId)).count >= 40, 'the load to be under way', 10_000);
    await redis.kill();
    const storedAtKill = (await truth(t, stage.roomId)).count;
    // Down until rewards have met the outage, then back while the load goes on.
    await waitUntil(async () => (await metOutage()) >= 5, 'rewards to meet Redis down', 10_000);
    await redis.restart();
    const created = await load;
    expect(created).toHaveLength(240);
    expect(storedAtKill).toBeLessThan(240);
    process.stdout.write(`realtime: Redis killed with ${storedAtKill} of 240 stored; ${await metOutage()} met it down\n`);
    expect(await metOutage()).toBeGreaterThanOrEqual(5);
    await waitUntil(() => Promise.resolve(t.redis.isUsable()), 'Redis usable again', 10_000);
    await t.flushRealtime();
    const all = await truth(t, stage.roomId);
    expect(all.count).toBe(240);
    expect(await flushed(t, stage.roomId)).toEqual({ fen: all.fen, count: 240, journalFen: all.fen, journalCount: 240 });
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 240 });
  }, 60_000);

  it('when Redis freezes, then commands time out (no request hangs), go to DB1, and the late-running Redis copies are not counted twice', async () => {
    const stage = await liveStage(t, 2);
    await reward(t, stage, 5, 5);
    redis.freeze();
    try {
      const started = Date.now();
      await reward(t, stage, 10, 5);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      redis.thaw();
    }
    // Redis now runs the scripts it had queued while frozen, before the PING that makes it usable again: the
    // rewards sent to it before its first timeout sit in its delta AND in DB1 (later ones went to DB1 alone).
    await waitUntil(() => Promise.resolve(t.redis.isUsable()), 'Redis to answer again', 10_000);
    const lateCopies = Number(await t.redis.client!.get(`live:room:recharge_count:{${stage.roomId}}`)) - 5;
    expect(lateCopies).toBeGreaterThanOrEqual(1);
    await t.flushRealtime();
    const all = await truth(t, stage.roomId);
    expect(all.count).toBe(15);
    expect(await flushed(t, stage.roomId)).toEqual({ fen: all.fen, count: 15, journalFen: all.fen, journalCount: 15 });
    expect(await realtime(t, stage.roomId)).toMatchObject({ totalEarnings: yuan(all.fen), rechargeCount: 15, source: 'redis' });
  }, 30_000);
});
