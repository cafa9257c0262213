import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAnchor, createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

/** The anchor-management lists and session totals on the embedded default (SQLite, no Redis): the same answers. */
let dir: string;
let t: TestPlatform;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tipping-sqlite-anchors-'));
  t = await createTestPlatform({
    DB1_URL: `sqlite:${join(dir, 'db1.sqlite')}`,
    DB2_URL: `sqlite:${join(dir, 'db2.sqlite')}`,
    REDIS_URL: undefined,
    AUTO_MIGRATE: 'true',
    SESSION_SETTLE_MS: '1',
  });
});

afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

const A = '/anchor/api/v1';

it('when anchors, rooms, live now and sessions are read on SQLite, then as on MariaDB', async () => {
  const admin = await t.auth('admin');
  const kept = await createAnchor(t, 'Find_me 100%');
  await createAnchor(t, 'Find me 100x');
  const found = await t.http.get(`${A}/anchors`).query({ keyword: 'find_ME 100%' }).set('Authorization', admin).expect(200);
  expect((found.body.items as Array<{ anchorId: number }>).map((a) => a.anchorId)).toEqual([kept]);

  const big = await liveStage(t);
  const small = await liveStage(t);
  const send = async (roomId: number, audienceId: number, amount: string) =>
    t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .send({ traceId: newTraceId('SQ'), audienceId, liveRoomId: roomId, amount })
      .expect(201);
  await send(small.roomId, small.viewerIds[0]!, '1.00');
  await send(big.roomId, big.viewerIds[0]!, '7.50');
  await send(big.roomId, big.viewerIds[0]!, '0.25');
  const live = await t.http.get(`${A}/live-rooms/live`).expect(200);
  expect((live.body.items as Array<{ liveRoomId: number; totalEarnings: string }>).map((r) => [r.liveRoomId, r.totalEarnings])).toEqual([
    [big.roomId, '7.75'],
    [small.roomId, '1.00'],
  ]);
  const open = await t.http.get(`${A}/live-rooms`).query({ keyword: 'evening' }).expect(200);
  expect(open.body.total).toBe(2);

  await t.http.post(`${A}/anchors/${big.anchorId}/disable`).set('Authorization', admin).expect(200);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const job = t.modules.find((m) => m.name === 'anchor')?.jobs.find((j) => j.name === 'live-session-totals');
  await job?.run();
  const session = await t.db1('live_session').where({ live_room_id: big.roomId }).first();
  expect([Number(session.total_earnings), Number(session.recharge_count)]).toEqual([775, 2]);
  const sessions = await t.http.get(`${A}/live-rooms/${big.roomId}/sessions`).set('Authorization', admin).expect(200);
  expect(sessions.body.items[0]).toMatchObject({ totalEarnings: '7.75', rechargeCount: 2 });
});
