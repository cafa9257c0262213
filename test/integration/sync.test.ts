import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { claimBatch } from '../../src/modules/audience/sync/sync.repository';
import type { FinanceServiceClient } from '../../src/modules/finance/contract';
import { workerDatabaseUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { TcpProxy } from '../support/tcp-proxy';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(() => t.close());

/** `count` rewards of 1.00 … 9.99 yuan into a fresh live room; returns the room's anchor and the ids. */
async function rewards(count: number): Promise<{ anchorId: number; ids: number[]; totalFen: number }> {
  const { anchorId, roomId, viewerIds } = await liveStage(t, 3);
  const auth = await t.auth('service');
  const ids: number[] = [];
  let totalFen = 0;
  for (let start = 0; start < count; start += 500) {
    const items = Array.from({ length: Math.min(500, count - start) }, (_, i) => {
      const fen = 100 + (((start + i) * 37) % 900);
      totalFen += fen;
      return { traceId: newTraceId('SY'), audienceId: viewerIds[(start + i) % 3], liveRoomId: roomId, amount: fen / 100 };
    });
    const res = await t.http.post('/audience/api/v1/recharge/batch').set('Authorization', auth).send({ items }).expect(200);
    for (const r of res.body.results as Array<{ status: number; rechargeId: number }>) {
      expect(r.status).toBe(201);
      ids.push(r.rechargeId);
    }
  }
  return { anchorId, ids, totalFen };
}

/** What finance holds for these rewards: detail rows, their sums, and the anchor's balance. */
async function settled(anchorId: number, ids: number[]) {
  const detail = await t
    .db2('settlement_detail')
    .whereIn('recharge_id', ids)
    .select(
      t.db2.raw(
        'COUNT(*) AS n, COUNT(DISTINCT recharge_id) AS distinct_n, COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM(anchor_amount), 0) AS anchor_share, COALESCE(SUM(platform_amount), 0) AS platform_share',
      ),
    );
  const row = detail[0] as Record<string, number>;
  const balance = await t.http
    .get(`/finance/api/v1/balances/${anchorId}`)
    .set('Authorization', await t.auth('admin'))
    .expect(200);
  const unsynced = await t.db1('recharge').whereIn('id', ids).whereNot('sync_status', 'SYNCED').count({ n: '*' }).first();
  return {
    n: Number(row['n']),
    distinct: Number(row['distinct_n']),
    amount: Number(row['amount']),
    anchorShare: Number(row['anchor_share']),
    platformShare: Number(row['platform_share']),
    available: balance.body.available as string,
    unsynced: Number(unsynced?.['n']),
  };
}

function yuan(fen: number): string {
  return `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

/**
 * Waits until `count` statements of this worker's DB1 wait for a row lock. InnoDB refreshes
 * INNODB_TRX only after 100 ms without a read of it, so it is read every 200 ms.
 */
async function waitForLockWaits(count: number): Promise<void> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 200));
    const [rows] = (await t.db1.raw(
      `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
       WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()`,
    )) as [Array<{ n: number }>];
    if (Number(rows[0]?.n) >= count) return;
  }
  throw new Error(`timed out waiting for ${count} statements to wait for a row lock`);
}

describe('finance sync', () => {
  it('when rewards wait for finance, then the sync status counts them in the queue, and a run empties it', async () => {
    const admin = await t.auth('admin');
    await t.runSync();
    const before = (await t.http.get('/audience/api/v1/sync/status').set('Authorization', admin).expect(200)).body;
    expect(before).toEqual({ queueSize: 0, pending: 0, claimed: 0, quarantined: expect.any(Number) });
    await rewards(7);
    const waiting = (await t.http.get('/audience/api/v1/sync/status').set('Authorization', admin).expect(200)).body;
    expect(waiting).toEqual({ queueSize: 7, pending: 7, claimed: 0, quarantined: before.quarantined });
    await t.runSync();
    expect((await t.http.get('/audience/api/v1/sync/status').set('Authorization', admin).expect(200)).body).toMatchObject({ queueSize: 0 });
    await t.http
      .get('/audience/api/v1/sync/status')
      .set('Authorization', await t.auth('service'))
      .expect(403);
  });

  it('when the sync is triggered, then every reward is settled once, shares add up to the fen and the balance is credited', async () => {
    const { anchorId, ids, totalFen } = await rewards(120);
    const res = await t.http
      .post('/audience/api/v1/sync/trigger')
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect(res.body.synced).toBeGreaterThanOrEqual(120);
    expect(res.body.pending).toBe(0);
    const s = await settled(anchorId, ids);
    expect(s).toMatchObject({ n: 120, distinct: 120, amount: totalFen, unsynced: 0 });
    expect(s.anchorShare + s.platformShare).toBe(totalFen);
    expect(s.available).toBe(yuan(s.anchorShare));
    // Default rate 0.5000: the anchor gets floor(amount / 2) of each reward.
    const details = await t.db2('settlement_detail').whereIn('recharge_id', ids).select('amount', 'anchor_amount', 'rate_bp');
    for (const d of details) expect(d).toMatchObject({ rate_bp: 5000, anchor_amount: Math.floor(d.amount / 2) });
  });

  it('when a run keeps several batches in flight (SYNC_LANES), then they overlap in finance and every reward is settled exactly once', async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const lanes = await createTestPlatform(
      { SYNC_LANES: '3', SYNC_BATCH_SIZE: '50' },
      {
        clientDecorators: {
          finance: (client: FinanceServiceClient) => ({
            ...client,
            batchSync: async (command) => {
              inFlight += 1;
              mostInFlight = Math.max(mostInFlight, inFlight);
              try {
                return await client.batchSync(command);
              } finally {
                inFlight -= 1;
              }
            },
          }),
        },
      },
    );
    try {
      await t.runSync();
      const { anchorId, ids, totalFen } = await rewards(400);
      const report = await lanes.runSync();
      expect(report).toMatchObject({ synced: 400, pending: 0 });
      expect(report.batches).toBe(8);
      expect(mostInFlight).toBeGreaterThanOrEqual(2);
      expect(mostInFlight).toBeLessThanOrEqual(3);
      const s = await settled(anchorId, ids);
      expect(s).toMatchObject({ n: 400, distinct: 400, amount: totalFen, unsynced: 0 });
      expect(s.anchorShare + s.platformShare).toBe(totalFen);
    } finally {
      await lanes.close();
    }
  });

  it('when two syncs run at once, then no reward is settled twice', async () => {
    const { anchorId, ids, totalFen } = await rewards(600);
    const other = await createTestPlatform({ SYNC_BATCH_SIZE: '37' });
    const mine = await createTestPlatform({ SYNC_BATCH_SIZE: '41' });
    try {
      const [a, b] = await Promise.all([other.runSync(), mine.runSync()]);
      expect(a.synced + b.synced).toBeGreaterThanOrEqual(600);
    } finally {
      await Promise.all([other.close(), mine.close()]);
    }
    const s = await settled(anchorId, ids);
    expect(s).toMatchObject({ n: 600, distinct: 600, amount: totalFen, unsynced: 0 });
    expect(s.available).toBe(yuan(s.anchorShare));
  });

  it.each(['skip-locked', 'plain'] as const)(
    'when two syncs run at once with SYNC_CLAIM_LOCKING=%s, then their batches never share a reward: each is sent to finance once and settled once',
    async (locking) => {
      await t.runSync();
      const { anchorId, ids, totalFen } = await rewards(600);
      const sent: number[] = [];
      const recordSends = {
        finance: (client: FinanceServiceClient): FinanceServiceClient => ({
          ...client,
          batchSync: (command) => {
            sent.push(...command.records.map((r) => r.rechargeId));
            return client.batchSync(command);
          },
        }),
      };
      const syncs = await Promise.all(
        ['37', '41'].map((size) =>
          createTestPlatform({ SYNC_BATCH_SIZE: size, SYNC_CLAIM_LOCKING: locking }, { clientDecorators: recordSends }),
        ),
      );
      try {
        const reports = await Promise.all(syncs.map((sync) => sync.runSync()));
        expect(reports.reduce((sum, r) => sum + r.synced, 0)).toBe(600);
      } finally {
        await Promise.all(syncs.map((sync) => sync.close()));
      }
      expect({ sent: sent.length, distinct: new Set(sent).size }).toEqual({ sent: 600, distinct: 600 });
      expect(new Set(sent)).toEqual(new Set(ids));
      const s = await settled(anchorId, ids);
      expect(s).toMatchObject({ n: 600, amount: totalFen, unsynced: 0 });
      expect(s.available).toBe(yuan(s.anchorShare));
    },
  );

  it('when two plain claims (no SKIP LOCKED) choose the same rewards at once, then one takes them and the other finds them taken and chooses again: no reward in both batches, none left out', async () => {
    await t.runSync();
    const { anchorId, ids, totalFen } = await rewards(100);
    const blocker = await t.db1.transaction();
    let claims: Array<ReturnType<typeof claimBatch>> = [];
    try {
      // Hold the first reward: both claims choose the same 50 by a plain read, then wait for it in their UPDATE.
      await blocker('recharge').where('id', ids[0]).forUpdate().first('id');
      claims = ['PLAIN-A', 'PLAIN-B'].map((batchId) =>
        claimBatch(t.db1, { batchId, limit: 50, now: new Date(), claimTtlMs: 1, locking: 'plain' }),
      );
      await waitForLockWaits(2);
    } finally {
      await blocker.commit();
    }
    const [a, b] = await Promise.all(claims);
    const batchIds = (batch: { rows: Array<{ id: number }> }) => batch.rows.map((row) => row.id);
    expect([a!.rows.length, b!.rows.length]).toEqual([50, 50]);
    expect(batchIds(a!).filter((id) => batchIds(b!).includes(id))).toEqual([]);
    expect(new Set([...batchIds(a!), ...batchIds(b!)])).toEqual(new Set(ids));
    // The loser chose the winner's 50 first and won none of them.
    expect(a!.lostToOthers + b!.lostToOthers).toBe(50);
    expect(Math.min(a!.lostToOthers, b!.lostToOthers)).toBe(0);
    const owners = await t.db1('recharge').whereIn('id', ids).groupBy('sync_batch_id').select('sync_batch_id', t.db1.raw('COUNT(*) AS n'));
    expect(Object.fromEntries(owners.map((o: { sync_batch_id: string; n: number }) => [o.sync_batch_id, Number(o.n)]))).toEqual({
      'PLAIN-A': 50,
      'PLAIN-B': 50,
    });

    // Both claims expired at once (1 ms): a run takes them over and settles each reward once.
    await t.runSync();
    expect(await settled(anchorId, ids)).toMatchObject({ n: 100, distinct: 100, amount: totalFen, unsynced: 0 });
  });
});

describe('finance sync while DB2 is unreachable', () => {
  let proxy: TcpProxy;
  let cut: TestPlatform;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
    cut = await createTestPlatform({
      DB2_URL: workerDatabaseUrl('db2').replace(':3306/', `:${proxy.port}/`),
      DB_ACQUIRE_TIMEOUT_MS: '1000',
    });
  });

  afterAll(async () => {
    await cut.close();
    await proxy.cut();
  });

  it('when DB2 is down, then rewards are still 201, the trigger answers 503 and the backlog drains once DB2 is back', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(cut, 1);
    await proxy.cut();
    const auth = await cut.auth('service');
    const ids: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const res = await cut.http
        .post('/audience/api/v1/recharge')
        .set('Authorization', auth)
        .send({ traceId: newTraceId('D2'), audienceId: viewerIds[0], liveRoomId: roomId, amount: '1.25' })
        .expect(201);
      ids.push(res.body.rechargeId);
    }
    const failed = await cut.http
      .post('/audience/api/v1/sync/trigger')
      .set('Authorization', await cut.auth('admin'))
      .expect(503);
    expect(failed.body.code).toBe('DEPENDENCY_UNAVAILABLE');
    const waiting = await cut.db1('recharge').whereIn('id', ids).where('sync_status', 'PENDING').count({ n: '*' }).first();
    expect(Number(waiting?.['n'])).toBe(20);

    await proxy.restore();
    const drained = await cut.http
      .post('/audience/api/v1/sync/trigger')
      .set('Authorization', await cut.auth('admin'))
      .expect(200);
    expect(drained.body.pending).toBe(0);
    const s = await settled(anchorId, ids);
    expect(s).toMatchObject({ n: 20, amount: 2500, unsynced: 0 });
  });
});
