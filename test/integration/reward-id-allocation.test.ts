import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { workerDatabaseUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * A multi-row reward INSERT learns its ids from how the server allocates AUTO_INCREMENT values,
 * asked once per pool (`SELECT @@innodb_autoinc_lock_mode`, src/shared/db/knex.ts). A failed
 * question must be asked again: remembered, it would fail every later reward on that pool until a
 * restart.
 */
const URL = '/audience/api/v1/recharge';
const ALLOCATION_QUESTION = /@@innodb_autoinc_lock_mode/;

describe('the id-allocation question failing once', () => {
  let proxy: TcpProxy;
  let t: TestPlatform;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
    // A platform of its own: its DB1 pool has not asked the question yet.
    t = await createTestPlatform({ DB1_URL: workerDatabaseUrl('db1').replace(':3306/', `:${proxy.port}/`), DB_ACQUIRE_TIMEOUT_MS: '800' });
  });

  afterAll(async () => {
    await t.close();
    await proxy.cut();
  });

  it('when DB1 is cut just as the first reward asks it, then that reward is a 503 and every later one is stored, the question asked once more', async () => {
    const { roomId, viewerIds } = await liveStage(t, 1);
    const audienceId = viewerIds[0]!;
    const auth = await t.auth('service');
    const asked: string[] = [];
    const cuts: Array<Promise<void>> = [];
    // Runs as knex hands the statement to the driver: the first question's connection dies under it.
    const cutAtFirstQuestion = (query: Knex.Sql) => {
      if (!ALLOCATION_QUESTION.test(query.sql)) return;
      asked.push(query.sql);
      if (asked.length === 1) cuts.push(proxy.cut());
    };
    t.db1.on('query', cutAtFirstQuestion);
    try {
      const failed = { traceId: newTraceId('ALLOC'), audienceId, liveRoomId: roomId, amount: '1.00' };
      const refused = await t.http.post(URL).set('Authorization', auth).send(failed);
      expect({ status: refused.status, code: refused.body.code, asked: asked.length }).toEqual({
        status: 503,
        code: 'DEPENDENCY_UNAVAILABLE',
        asked: 1,
      });
      expect(cuts).toHaveLength(1);
      await Promise.all(cuts);
      await proxy.restore();

      const later = [
        failed,
        ...['2.00', '3.00', '4.00'].map((amount) => ({ traceId: newTraceId('ALLOC'), audienceId, liveRoomId: roomId, amount })),
      ];
      const stored: Array<{ traceId: string; rechargeId: number }> = [];
      for (const body of later) {
        const res = await t.http.post(URL).set('Authorization', auth).send(body);
        expect({ traceId: body.traceId, status: res.status }).toEqual({ traceId: body.traceId, status: 201 });
        stored.push({ traceId: body.traceId, rechargeId: res.body.rechargeId });
      }
      // Asked again once, then remembered for the rewards after.
      expect(asked).toHaveLength(2);
      const rows = await t
        .db1('recharge')
        .whereIn(
          'trace_id',
          later.map((body) => body.traceId),
        )
        .select('id', 'trace_id');
      expect(rows.map((row) => ({ traceId: row.trace_id, rechargeId: row.id })).sort((a, b) => a.rechargeId - b.rechargeId)).toEqual(
        stored,
      );
    } finally {
      t.db1.off('query', cutAtFirstQuestion);
    }
  });
});
