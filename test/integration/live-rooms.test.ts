import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAnchor, createRoom, createTestPlatform, type TestPlatform } from '../support/platform';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(async () => {
  await t.close();
});

describe('anchors', () => {
  it('when an admin creates an anchor, then it is ACTIVE and can be read back by itself', async () => {
    const created = await t.http
      .post('/anchor/api/v1/anchors')
      .set('Authorization', await t.auth('admin'))
      .send({ name: '  Alice  ', avatarUrl: 'https://cdn.test/a.png' })
      .expect(201);
    expect(created.body).toMatchObject({ name: 'Alice', avatarUrl: 'https://cdn.test/a.png', status: 'ACTIVE' });
    expect(created.body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const id = created.body.anchorId as number;

    const own = await t.http
      .get(`/anchor/api/v1/anchors/${id}`)
      .set('Authorization', await t.auth('anchor', id))
      .expect(200);
    expect(own.body).toEqual(created.body);
    const row = await t.db1('anchor').where({ id }).first();
    expect(row).toMatchObject({ id, name: 'Alice', status: 'ACTIVE' });
  });

  it('when another anchor reads it, then 403 FORBIDDEN; when it does not exist, then 404 ANCHOR_NOT_FOUND', async () => {
    const id = await createAnchor(t);
    const other = await t.http
      .get(`/anchor/api/v1/anchors/${id}`)
      .set('Authorization', await t.auth('anchor', id + 1000))
      .expect(403);
    expect(other.body.code).toBe('FORBIDDEN');
    const missing = await t.http
      .get('/anchor/api/v1/anchors/999999999')
      .set('Authorization', await t.auth('admin'))
      .expect(404);
    expect(missing.body.code).toBe('ANCHOR_NOT_FOUND');
  });

  it('when the body has an extra field, a blank name or a bad URL, then 400 with the fields and nothing is stored', async () => {
    const before = await t.db1('anchor').count({ n: '*' }).first();
    const res = await t.http
      .post('/anchor/api/v1/anchors')
      .set('Authorization', await t.auth('admin'))
      .send({ name: '   ', avatarUrl: 'javascript:alert(1)', role: 'admin' })
      .expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const fields = (res.body.errors as Array<{ field: string }>).map((e) => e.field).sort();
    expect(fields).toEqual(['avatarUrl', 'name', 'role']);
    const after = await t.db1('anchor').count({ n: '*' }).first();
    expect(after?.['n']).toBe(before?.['n']);
  });
});

describe('live rooms', () => {
  it('when the anchor creates its own room, then it is IDLE with a zeroed realtime row', async () => {
    const anchorId = await createAnchor(t);
    const res = await t.http
      .post('/anchor/api/v1/live-rooms')
      .set('Authorization', await t.auth('anchor', anchorId))
      .send({ anchorId, title: 'Night talk', category: 'chat' })
      .expect(201);
    expect(res.body).toMatchObject({ anchorId, title: 'Night talk', category: 'chat', status: 'IDLE', currentSessionId: null });
    const realtime = await t.db1('live_room_realtime').where({ live_room_id: res.body.liveRoomId }).first();
    expect(realtime).toMatchObject({ anchor_id: anchorId, total_earnings: 0, recharge_count: 0 });
  });

  it('when an anchor creates a room for another anchor, then 403; for a missing anchor, then 404', async () => {
    const anchorId = await createAnchor(t);
    const forbidden = await t.http
      .post('/anchor/api/v1/live-rooms')
      .set('Authorization', await t.auth('anchor', anchorId))
      .send({ anchorId: anchorId + 1, title: 'x' })
      .expect(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');
    const missing = await t.http
      .post('/anchor/api/v1/live-rooms')
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId: 987654321, title: 'x' })
      .expect(404);
    expect(missing.body.code).toBe('ANCHOR_NOT_FOUND');
  });

  it('when a disabled anchor creates a room, then 403 ACCOUNT_DISABLED and no room is stored', async () => {
    const anchorId = await createAnchor(t);
    await t.db1('anchor').where({ id: anchorId }).update({ status: 'DISABLED' });
    const res = await t.http
      .post('/anchor/api/v1/live-rooms')
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId, title: 'x' })
      .expect(403);
    expect(res.body.code).toBe('ACCOUNT_DISABLED');
    expect(await t.db1('live_room').where({ anchor_id: anchorId })).toHaveLength(0);
  });

  it('when a room starts and stops, then a session opens and closes, and repeats are 200 no-ops', async () => {
    const anchorId = await createAnchor(t);
    const roomId = await createRoom(t, anchorId);
    const owner = await t.auth('anchor', anchorId);

    const started = await t.http.post(`/anchor/api/v1/live-rooms/${roomId}/start`).set('Authorization', owner).expect(200);
    expect(started.body.status).toBe('LIVE');
    const sessionId = started.body.currentSessionId as number;
    expect(sessionId).toBeGreaterThan(0);

    const again = await t.http.post(`/anchor/api/v1/live-rooms/${roomId}/start`).set('Authorization', owner).expect(200);
    expect(again.body.currentSessionId).toBe(sessionId);

    const publicView = await t.http.get(`/anchor/api/v1/live-rooms/${roomId}`).expect(200);
    expect(publicView.body).toMatchObject({ status: 'LIVE', currentSessionId: sessionId });

    const stopped = await t.http.post(`/anchor/api/v1/live-rooms/${roomId}/stop`).set('Authorization', owner).expect(200);
    expect(stopped.body).toMatchObject({ status: 'IDLE', currentSessionId: null });
    await t.http.post(`/anchor/api/v1/live-rooms/${roomId}/stop`).set('Authorization', owner).expect(200);

    const sessions = await t.db1('live_session').where({ live_room_id: roomId });
    expect(sessions).toHaveLength(1);
    expect(sessions[0].ended_at).not.toBeNull();
  });

  it('when twenty start requests race, then exactly one session is opened', async () => {
    const anchorId = await createAnchor(t);
    const roomId = await createRoom(t, anchorId);
    const owner = await t.auth('anchor', anchorId);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => t.http.post(`/anchor/api/v1/live-rooms/${roomId}/start`).set('Authorization', owner)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.body.currentSessionId)).size).toBe(1);
    expect(await t.db1('live_session').where({ live_room_id: roomId })).toHaveLength(1);
  });

  it('when someone else starts the room, then 403 and it stays IDLE; an unknown room is 404; a bad id is 400', async () => {
    const anchorId = await createAnchor(t);
    const roomId = await createRoom(t, anchorId);
    const res = await t.http
      .post(`/anchor/api/v1/live-rooms/${roomId}/start`)
      .set('Authorization', await t.auth('anchor', anchorId + 1))
      .expect(403);
    expect(res.body.code).toBe('FORBIDDEN');
    expect((await t.db1('live_room').where({ id: roomId }).first()).status).toBe('IDLE');
    expect((await t.http.get('/anchor/api/v1/live-rooms/888888888').expect(404)).body.code).toBe('LIVE_ROOM_NOT_FOUND');
    const bad = await t.http.get('/anchor/api/v1/live-rooms/abc').expect(400);
    expect(bad.body.errors).toEqual([{ field: 'liveRoomId', message: 'must be a positive integer id' }]);
  });

  it('when the room is CLOSED, then start is 409 INVALID_STATE', async () => {
    const anchorId = await createAnchor(t);
    const roomId = await createRoom(t, anchorId);
    await t.db1('live_room').where({ id: roomId }).update({ status: 'CLOSED' });
    const res = await t.http
      .post(`/anchor/api/v1/live-rooms/${roomId}/start`)
      .set('Authorization', await t.auth('admin'))
      .expect(409);
    expect(res.body.code).toBe('INVALID_STATE');
    expect(await t.db1('live_session').where({ live_room_id: roomId })).toHaveLength(0);
  });
});
