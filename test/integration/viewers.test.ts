import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Response } from 'supertest';
import { createTestPlatform, createViewer, type TestPlatform } from '../support/platform';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(async () => {
  await t.close();
});

async function viewerCount(): Promise<number> {
  const row = await t.db1('audience').count({ n: '*' }).first();
  return Number(row?.['n']);
}

function expectValidationProblem(res: Response, fields: string[]): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const listed = (res.body.errors as Array<{ field: string; message: string }>).map((e) => e.field).sort();
  expect(listed).toEqual([...fields].sort());
  for (const error of res.body.errors as Array<{ message: unknown }>) expect(error.message).toEqual(expect.any(String));
}

describe('creating viewers', () => {
  it.each(['admin', 'service'] as const)(
    'when %s creates a viewer, then 201 with the core shape and the row is stored ACTIVE',
    async (role) => {
      const res = await t.http
        .post('/audience/api/v1/audiences')
        .set('Authorization', await t.auth(role))
        .send({ nickname: `By ${role}` })
        .expect(201);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        audienceId: expect.any(Number),
        nickname: `By ${role}`,
        status: 'ACTIVE',
        anonymous: false,
        createdAt: expect.stringMatching(ISO_UTC),
        updatedAt: expect.stringMatching(ISO_UTC),
      });
      expect(res.body.audienceId).toBeGreaterThan(0);
      const row = await t.db1('audience').where({ id: res.body.audienceId }).first();
      expect(row).toMatchObject({ nickname: `By ${role}`, status: 'ACTIVE' });
    },
  );

  it('when the nickname has surrounding spaces, then it is stored and answered trimmed', async () => {
    const res = await t.http
      .post('/audience/api/v1/audiences')
      .set('Authorization', await t.auth('admin'))
      .send({ nickname: '  \tBob  ' })
      .expect(201);
    expect(res.body.nickname).toBe('Bob');
    expect((await t.db1('audience').where({ id: res.body.audienceId }).first()).nickname).toBe('Bob');
  });

  it('when the nickname is exactly 64 characters, including emoji, then it is accepted and read back unchanged', async () => {
    const admin = await t.auth('admin');
    for (const nickname of ['n'.repeat(64), `小明${'🎉'.repeat(62)}`]) {
      const created = await t.http.post('/audience/api/v1/audiences').set('Authorization', admin).send({ nickname }).expect(201);
      expect(created.body.nickname).toBe(nickname);
      const read = await t.http.get(`/audience/api/v1/audiences/${created.body.audienceId}`).set('Authorization', admin).expect(200);
      expect(read.body.nickname).toBe(nickname);
    }
  });

  it.each([
    ['a blank nickname', { nickname: '   ' }, ['nickname']],
    ['an empty nickname', { nickname: '' }, ['nickname']],
    ['a 65-character nickname', { nickname: 'x'.repeat(65) }, ['nickname']],
    ['no nickname', {}, ['nickname']],
    ['a numeric nickname', { nickname: 42 }, ['nickname']],
    ['an extra field', { nickname: 'Eve', status: 'DISABLED' }, ['status']],
    ['a blank nickname and two extra fields', { nickname: ' ', role: 'admin', id: 1 }, ['id', 'nickname', 'role']],
  ] as const)('when the body has %s, then 400 VALIDATION_FAILED naming the fields and nothing is stored', async (_case, body, fields) => {
    const before = await viewerCount();
    const res = await t.http
      .post('/audience/api/v1/audiences')
      .set('Authorization', await t.auth('admin'))
      .send(body);
    expectValidationProblem(res, [...fields]);
    expect(await viewerCount()).toBe(before);
  });

  it('when the body is not an object (an array), then 400 on "body" and nothing is stored', async () => {
    const before = await viewerCount();
    const res = await t.http
      .post('/audience/api/v1/audiences')
      .set('Authorization', await t.auth('admin'))
      .send([{ nickname: 'Array' }]);
    expectValidationProblem(res, ['body']);
    expect(await viewerCount()).toBe(before);
  });
});

describe('reading a viewer', () => {
  it('when the viewer itself, an admin or the service reads it, then 200 with the same body as at creation', async () => {
    const created = await t.http
      .post('/audience/api/v1/audiences')
      .set('Authorization', await t.auth('admin'))
      .send({ nickname: 'Reader' })
      .expect(201);
    const id = created.body.audienceId as number;
    for (const authorization of [await t.auth('audience', id), await t.auth('admin'), await t.auth('service', 7)]) {
      const res = await t.http.get(`/audience/api/v1/audiences/${id}`).set('Authorization', authorization).expect(200);
      expect(res.body).toEqual(created.body);
    }
  });

  it('when another viewer reads it, then 403 FORBIDDEN without revealing the viewer', async () => {
    const id = await createViewer(t, 'Private');
    const otherId = await createViewer(t, 'Nosy');
    const res = await t.http
      .get(`/audience/api/v1/audiences/${id}`)
      .set('Authorization', await t.auth('audience', otherId))
      .expect(403);
    expect(res.body.code).toBe('FORBIDDEN');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.text).not.toContain('Private');
  });

  it('when the viewer does not exist, then 404 AUDIENCE_NOT_FOUND for admin and for a token of that id', async () => {
    const missing = (await createViewer(t, 'Last')) + 1_000_000;
    for (const authorization of [await t.auth('admin'), await t.auth('audience', missing)]) {
      const res = await t.http.get(`/audience/api/v1/audiences/${missing}`).set('Authorization', authorization).expect(404);
      expect(res.body.code).toBe('AUDIENCE_NOT_FOUND');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it.each(['abc', '0', '-1', '1.5', '1e3', '99999999999999999'])(
    'when the id is %s, then 400 VALIDATION_FAILED on audienceId',
    async (id) => {
      const res = await t.http.get(`/audience/api/v1/audiences/${id}`).set('Authorization', await t.auth('admin'));
      expectValidationProblem(res, ['audienceId']);
      expect(res.body.errors).toEqual([{ field: 'audienceId', message: 'must be a positive integer id' }]);
    },
  );
});
