import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FinanceServiceClient } from '../../src/modules/finance/contract';
import { createAnchor, createRoom, createTestPlatform, liveStage, newTraceId, startRoom, type TestPlatform } from '../support/platform';

let t: TestPlatform;
let financeHangs = false;

beforeAll(async () => {
  t = await createTestPlatform(
    { MODULE_CALL_TIMEOUT_MS: '300' },
    {
      clientDecorators: {
        finance: (client: FinanceServiceClient) => ({
          ...client,
          anchorBalance: (anchorId) => (financeHangs ? new Promise(() => undefined) : client.anchorBalance(anchorId)),
        }),
      },
    },
  );
});

afterAll(() => t.close());

const A = '/anchor/api/v1';

async function reward(p: TestPlatform, roomId: number, audienceId: number, amount = '1.00') {
  return p.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await p.auth('service'))
    .send({ traceId: newTraceId('AM'), audienceId, liveRoomId: roomId, amount });
}

async function rewardRows(roomId: number): Promise<number> {
  const row = await t.db1('recharge').where({ live_room_id: roomId }).count({ n: '*' }).first();
  return Number(row?.['n']);
}

describe('PATCH /anchors/{anchorId}', () => {
  it('when the anchor renames itself and sets an avatar, then 200 with both; null clears the avatar', async () => {
    const id = await createAnchor(t, 'Before');
    const own = await t.auth('anchor', id);
    const res = await t.http
      .patch(`${A}/anchors/${id}`)
      .set('Authorization', own)
      .send({ name: ' After ', avatarUrl: 'https://cdn.test/x.png' })
      .expect(200);
    expect(res.body).toMatchObject({ anchorId: id, name: 'After', avatarUrl: 'https://cdn.test/x.png', status: 'ACTIVE' });
    const cleared = await t.http.patch(`${A}/anchors/${id}`).set('Authorization', own).send({ avatarUrl: null }).expect(200);
    expect(cleared.body).toMatchObject({ name: 'After', avatarUrl: null });
    expect(await t.db1('anchor').where({ id }).first()).toMatchObject({ name: 'After', avatar_url: null });
  });

  it('when another anchor patches it, then 403; an admin may; an unknown one is 404; a bad id is 400', async () => {
    const id = await createAnchor(t, 'Owned');
    const other = await t.http
      .patch(`${A}/anchors/${id}`)
      .set('Authorization', await t.auth('anchor', id + 1))
      .send({ name: 'Hijack' })
      .expect(403);
    expect(other.body.code).toBe('FORBIDDEN');
    await t.http
      .patch(`${A}/anchors/${id}`)
      .set('Authorization', await t.auth('admin'))
      .send({ name: 'ByAdmin' })
      .expect(200);
    expect((await t.db1('anchor').where({ id }).first()).name).toBe('ByAdmin');
    const missing = await t.http
      .patch(`${A}/anchors/987654321`)
      .set('Authorization', await t.auth('admin'))
      .send({ name: 'x' })
      .expect(404);
    expect(missing.body.code).toBe('ANCHOR_NOT_FOUND');
    const bad = await t.http
      .patch(`${A}/anchors/abc`)
      .set('Authorization', await t.auth('admin'))
      .send({ name: 'x' })
      .expect(400);
    expect(bad.body.errors).toEqual([{ field: 'anchorId', message: 'must be a positive integer id' }]);
  });

  it('when the body is empty, has an unknown field or a bad URL, then 400 and nothing changes', async () => {
    const id = await createAnchor(t, 'Stable');
    const admin = await t.auth('admin');
    const empty = await t.http.patch(`${A}/anchors/${id}`).set('Authorization', admin).send({}).expect(400);
    expect(empty.body.code).toBe('VALIDATION_FAILED');
    const extra = await t.http.patch(`${A}/anchors/${id}`).set('Authorization', admin).send({ name: 'x', status: 'ACTIVE' }).expect(400);
    expect((extra.body.errors as Array<{ field: string }>).map((e) => e.field)).toEqual(['status']);
    const url = await t.http.patch(`${A}/anchors/${id}`).set('Authorization', admin).send({ avatarUrl: 'ftp://x/y' }).expect(400);
    expect((url.body.errors as Array<{ field: string }>).map((e) => e.field)).toEqual(['avatarUrl']);
    expect((await t.db1('anchor').where({ id }).first()).name).toBe('Stable');
  });
});

describe('GET /anchors', () => {
  it('when an admin lists by keyword and status, then newest first, case-insensitive on any part of the name', async () => {
    const tag = `kw${Date.now().toString(36)}${process.pid}`;
    const first = await createAnchor(t, `Old ${tag} one`);
    const second = await createAnchor(t, `${tag.toUpperCase()} two`);
    const third = await createAnchor(t, `three-${tag}`);
    await createAnchor(t, 'unrelated');
    const admin = await t.auth('admin');
    await t.http.post(`${A}/anchors/${second}/disable`).set('Authorization', admin).expect(200);

    const all = await t.http.get(`${A}/anchors`).query({ keyword: tag }).set('Authorization', admin).expect(200);
    expect(all.body).toMatchObject({ page: 1, pageSize: 20, total: 3 });
    expect((all.body.items as Array<{ anchorId: number }>).map((a) => a.anchorId)).toEqual([third, second, first]);

    const disabled = await t.http.get(`${A}/anchors`).query({ keyword: tag, status: 'DISABLED' }).set('Authorization', admin).expect(200);
    expect(disabled.body.total).toBe(1);
    expect(disabled.body.items[0]).toMatchObject({ anchorId: second, status: 'DISABLED' });

    const paged = await t.http.get(`${A}/anchors`).query({ keyword: tag, page: 2, pageSize: 2 }).set('Authorization', admin).expect(200);
    expect(paged.body).toMatchObject({ page: 2, pageSize: 2, total: 3 });
    expect((paged.body.items as Array<{ anchorId: number }>).map((a) => a.anchorId)).toEqual([first]);
  });

  it('when the keyword holds % or _, then they match literally', async () => {
    const tag = `lit${Date.now().toString(36)}${process.pid}`;
    const literal = await createAnchor(t, `${tag}_100%`);
    await createAnchor(t, `${tag}x100y`);
    const res = await t.http
      .get(`${A}/anchors`)
      .query({ keyword: `${tag}_100%` })
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect((res.body.items as Array<{ anchorId: number }>).map((a) => a.anchorId)).toEqual([literal]);
  });

  it('when an anchor lists, then 403; a bad status or pageSize is 400', async () => {
    const id = await createAnchor(t);
    expect(
      (
        await t.http
          .get(`${A}/anchors`)
          .set('Authorization', await t.auth('anchor', id))
          .expect(403)
      ).body.code,
    ).toBe('FORBIDDEN');
    const admin = await t.auth('admin');
    const bad = await t.http.get(`${A}/anchors`).query({ status: 'GONE', pageSize: 101 }).set('Authorization', admin).expect(400);
    expect((bad.body.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual(['pageSize', 'status']);
  });
});

describe('disable, enable, delete', () => {
  it('when an admin disables an anchor, then its LIVE room ends its session, rewards are 403 ACCOUNT_DISABLED and nothing is stored; enable undoes it', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t);
    const viewer = viewerIds[0]!;
    await reward(t, roomId, viewer).then((r) => expect(r.status).toBe(201));
    const admin = await t.auth('admin');

    const disabled = await t.http.post(`${A}/anchors/${anchorId}/disable`).set('Authorization', admin).expect(200);
    expect(disabled.body).toMatchObject({ anchorId, status: 'DISABLED' });
    await t.http.post(`${A}/anchors/${anchorId}/disable`).set('Authorization', admin).expect(200);
    expect(await t.db1('live_room').where({ id: roomId }).first()).toMatchObject({ status: 'IDLE', current_session_id: null });
    expect((await t.db1('live_session').where({ live_room_id: roomId }).first()).ended_at).not.toBeNull();

    const refused = await reward(t, roomId, viewer);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('ACCOUNT_DISABLED');
    expect(await rewardRows(roomId)).toBe(1);
    const start = await t.http
      .post(`${A}/live-rooms/${roomId}/start`)
      .set('Authorization', await t.auth('anchor', anchorId))
      .expect(403);
    expect(start.body.code).toBe('ACCOUNT_DISABLED');

    const enabled = await t.http.post(`${A}/anchors/${anchorId}/enable`).set('Authorization', admin).expect(200);
    expect(enabled.body.status).toBe('ACTIVE');
    await startRoom(t, roomId);
    expect((await reward(t, roomId, viewer)).status).toBe(201);
    expect(await rewardRows(roomId)).toBe(2);
  });

  it('when an anchor disables itself or the anchor is unknown, then 403 / 404', async () => {
    const id = await createAnchor(t);
    const own = await t.http
      .post(`${A}/anchors/${id}/disable`)
      .set('Authorization', await t.auth('anchor', id))
      .expect(403);
    expect(own.body.code).toBe('FORBIDDEN');
    const missing = await t.http
      .post(`${A}/anchors/987654321/enable`)
      .set('Authorization', await t.auth('admin'))
      .expect(404);
    expect(missing.body.code).toBe('ANCHOR_NOT_FOUND');
    await t.http
      .delete(`${A}/anchors/987654321`)
      .set('Authorization', await t.auth('admin'))
      .expect(404);
    await t.http
      .delete(`${A}/anchors/0`)
      .set('Authorization', await t.auth('admin'))
      .expect(400);
  });

  it('when an admin deletes an anchor, then admins read it DELETED, everyone else (itself too) 404, its rooms close and refuse rewards', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t);
    const idleRoom = await createRoom(t, anchorId, 'Second room');
    const admin = await t.auth('admin');
    const own = await t.auth('anchor', anchorId);
    await t.http.delete(`${A}/anchors/${anchorId}`).set('Authorization', admin).expect(204);
    await t.http.delete(`${A}/anchors/${anchorId}`).set('Authorization', admin).expect(204);

    const asAdmin = await t.http.get(`${A}/anchors/${anchorId}`).set('Authorization', admin).expect(200);
    expect(asAdmin.body).toMatchObject({ anchorId, status: 'DELETED' });
    for (const path of [`/anchors/${anchorId}`, `/anchors/${anchorId}/live-rooms`, `/anchors/${anchorId}/balance`]) {
      const res = await t.http.get(`${A}${path}`).set('Authorization', own).expect(404);
      expect(res.body.code).toBe('ANCHOR_NOT_FOUND');
    }
    expect((await t.http.patch(`${A}/anchors/${anchorId}`).set('Authorization', own).send({ name: 'x' }).expect(404)).body.code).toBe(
      'ANCHOR_NOT_FOUND',
    );
    const edit = await t.http.patch(`${A}/anchors/${anchorId}`).set('Authorization', admin).send({ name: 'x' }).expect(409);
    expect(edit.body.code).toBe('INVALID_STATE');
    expect((await t.http.post(`${A}/anchors/${anchorId}/enable`).set('Authorization', admin).expect(409)).body.code).toBe('INVALID_STATE');

    const rooms = await t.db1('live_room').whereIn('id', [roomId, idleRoom]).orderBy('id');
    expect(rooms.map((r: { status: string }) => r.status)).toEqual(['CLOSED', 'CLOSED']);
    expect((await t.db1('live_session').where({ live_room_id: roomId }).first()).ended_at).not.toBeNull();
    const refused = await reward(t, roomId, viewerIds[0]!);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('ACCOUNT_DISABLED');
    expect(await rewardRows(roomId)).toBe(0);

    const listed = await t.http.get(`${A}/anchors`).query({ status: 'DELETED', pageSize: 100 }).set('Authorization', admin).expect(200);
    expect((listed.body.items as Array<{ anchorId: number }>).map((a) => a.anchorId)).toContain(anchorId);
    const active = await t.http.get(`${A}/anchors`).query({ pageSize: 100 }).set('Authorization', admin).expect(200);
    expect((active.body.items as Array<{ anchorId: number }>).map((a) => a.anchorId)).not.toContain(anchorId);
    const creating = await t.http.post(`${A}/live-rooms`).set('Authorization', admin).send({ anchorId, title: 'x' }).expect(404);
    expect(creating.body.code).toBe('ANCHOR_NOT_FOUND');
    const adminRooms = await t.http.get(`${A}/anchors/${anchorId}/live-rooms`).set('Authorization', admin).expect(200);
    expect(adminRooms.body.total).toBe(2);
  });

  it('when two instances share the databases, then a disable on one refuses the next reward on the other, and an enable lets it through', async () => {
    const other = await createTestPlatform();
    try {
      const { anchorId, roomId, viewerIds } = await liveStage(t);
      const viewer = viewerIds[0]!;
      expect((await reward(other, roomId, viewer)).status).toBe(201);
      await t.http
        .post(`${A}/anchors/${anchorId}/disable`)
        .set('Authorization', await t.auth('admin'))
        .expect(200);
      const refused = await reward(other, roomId, viewer);
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('ACCOUNT_DISABLED');
      expect(await rewardRows(roomId)).toBe(1);

      await other.http
        .post(`${A}/anchors/${anchorId}/enable`)
        .set('Authorization', await other.auth('admin'))
        .expect(200);
      await startRoom(other, roomId);
      expect((await reward(t, roomId, viewer)).status).toBe(201);
      await other.http
        .delete(`${A}/anchors/${anchorId}`)
        .set('Authorization', await other.auth('admin'))
        .expect(204);
      expect((await reward(t, roomId, viewer)).body.code).toBe('ACCOUNT_DISABLED');
      expect(await rewardRows(roomId)).toBe(2);
    } finally {
      await other.close();
    }
  });
});

describe('GET /anchors/{anchorId}/live-rooms and /balance', () => {
  it("when the anchor lists its rooms, then all of them newest first, filterable by status; another anchor's token is 403", async () => {
    const anchorId = await createAnchor(t);
    const first = await createRoom(t, anchorId, 'First');
    const second = await createRoom(t, anchorId, 'Second');
    await startRoom(t, second);
    const own = await t.auth('anchor', anchorId);
    const all = await t.http.get(`${A}/anchors/${anchorId}/live-rooms`).set('Authorization', own).expect(200);
    expect(all.body).toMatchObject({ total: 2, page: 1, pageSize: 20 });
    expect((all.body.items as Array<{ liveRoomId: number }>).map((r) => r.liveRoomId)).toEqual([second, first]);
    expect(all.body.items[0]).toMatchObject({ status: 'LIVE', coverUrl: null, title: 'Second' });
    const live = await t.http.get(`${A}/anchors/${anchorId}/live-rooms`).query({ status: 'LIVE' }).set('Authorization', own).expect(200);
    expect(live.body.total).toBe(1);
    await t.http
      .get(`${A}/anchors/${anchorId}/live-rooms`)
      .set('Authorization', await t.auth('anchor', anchorId + 1))
      .expect(403);
    await t.http
      .get(`${A}/anchors/987654321/live-rooms`)
      .set('Authorization', await t.auth('admin'))
      .expect(404);
  });

  it("when the anchor reads its balance, then finance's figures; zeros before any settlement", async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t);
    const own = await t.auth('anchor', anchorId);
    const before = await t.http.get(`${A}/anchors/${anchorId}/balance`).set('Authorization', own).expect(200);
    expect(before.body).toEqual({ anchorId, available: '0.00', frozen: '0.00', totalIncome: '0.00', totalWithdrawn: '0.00' });
    expect((await reward(t, roomId, viewerIds[0]!, '10.01')).status).toBe(201);
    await t.runSync();
    const after = await t.http.get(`${A}/anchors/${anchorId}/balance`).set('Authorization', own).expect(200);
    const finance = await t.http.get(`/finance/api/v1/balances/${anchorId}`).set('Authorization', own).expect(200);
    expect(after.body).toEqual(finance.body);
    // The default rate 0.5000: floor(1001 * 5000 / 10000) = 500 fen.
    expect(after.body).toMatchObject({ available: '5.00', totalIncome: '5.00' });
    await t.http
      .get(`${A}/anchors/${anchorId}/balance`)
      .set('Authorization', await t.auth('anchor', anchorId + 1))
      .expect(403);
  });

  it('when finance does not answer, then 503 DEPENDENCY_UNAVAILABLE within the breaker timeout', async () => {
    const anchorId = await createAnchor(t);
    financeHangs = true;
    try {
      const started = Date.now();
      const res = await t.http
        .get(`${A}/anchors/${anchorId}/balance`)
        .set('Authorization', await t.auth('admin'))
        .expect(503);
      expect(res.body.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      financeHangs = false;
    }
    await t.http
      .get(`${A}/anchors/${anchorId}/balance`)
      .set('Authorization', await t.auth('admin'))
      .expect(200);
  });
});
