import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import type { Response } from 'supertest';
import { audienceCountQuery, audiencePageQuery, type AudienceFilter } from '../../src/modules/audience/viewers/viewers.repository';
import { createTestPlatform, createViewer, type TestPlatform } from '../support/platform';

const AUDIENCES = '/audience/api/v1/audiences';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(async () => {
  await t.close();
});

interface Viewer {
  audienceId: number;
  nickname: string;
  status: string;
  anonymous: boolean;
  createdAt: string;
  updatedAt: string;
}

interface ViewerPage {
  items: Viewer[];
  page: number;
  pageSize: number;
  total: number;
}

let tokenCounter = 0;
/** A nickname fragment no other test (or run) uses: lists filtered by it hold only this test's viewers. */
function uniqueToken(): string {
  tokenCounter += 1;
  return `k${process.pid.toString(36)}${Date.now().toString(36)}${tokenCounter}`;
}

async function readViewer(id: number): Promise<Viewer> {
  return (
    await t.http
      .get(`${AUDIENCES}/${id}`)
      .set('Authorization', await t.auth('admin'))
      .expect(200)
  ).body as Viewer;
}

async function patchViewer(
  id: number,
  body: unknown,
  as: { role: 'admin' | 'audience' | 'service' | 'anchor'; id?: number },
  status?: number,
): Promise<Response> {
  const res = await t.http
    .patch(`${AUDIENCES}/${id}`)
    .set('Authorization', await t.auth(as.role, as.id ?? 1))
    .send(body as object);
  if (status !== undefined) expect(res.status).toBe(status);
  return res;
}

async function listViewers(query: string): Promise<ViewerPage> {
  const res = await t.http
    .get(`${AUDIENCES}?${query}`)
    .set('Authorization', await t.auth('admin'))
    .expect(200);
  return res.body as ViewerPage;
}

function expectValidationProblem(res: Response, fields: string[]): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect((res.body.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual([...fields].sort());
}

describe('changing a viewer (PATCH /audiences/{audienceId})', () => {
  it('when the viewer changes its own nickname, then 200 with the new name, anonymity kept, updatedAt moved, and the row changed', async () => {
    const id = await createViewer(t, 'Before');
    const before = await readViewer(id);
    const res = await patchViewer(id, { nickname: 'After' }, { role: 'audience', id }, 200);
    expect(res.body).toEqual({ ...before, nickname: 'After', updatedAt: expect.any(String) });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
    expect(await readViewer(id)).toEqual(res.body);
    expect(await t.db1('audience').where({ id }).first()).toMatchObject({ nickname: 'After', anonymous: 0 });
  });

  it('when an admin makes a viewer anonymous and back, then each answer and the stored flag follow, the nickname untouched', async () => {
    const id = await createViewer(t, 'Shy');
    const on = await patchViewer(id, { anonymous: true }, { role: 'admin' }, 200);
    expect(on.body).toMatchObject({ audienceId: id, nickname: 'Shy', anonymous: true, status: 'ACTIVE' });
    expect(Boolean((await t.db1('audience').where({ id }).first()).anonymous)).toBe(true);
    const off = await patchViewer(id, { anonymous: false }, { role: 'audience', id }, 200);
    expect(off.body).toMatchObject({ nickname: 'Shy', anonymous: false });
    expect((await readViewer(id)).anonymous).toBe(false);
  });

  it('when both fields are sent, then both change in one call', async () => {
    const id = await createViewer(t, 'Both');
    const res = await patchViewer(id, { nickname: 'Both2', anonymous: true }, { role: 'admin' }, 200);
    expect(res.body).toMatchObject({ nickname: 'Both2', anonymous: true });
    expect(await readViewer(id)).toMatchObject({ nickname: 'Both2', anonymous: true });
  });

  it('when the nickname has surrounding spaces or is exactly 64 characters (emoji too), then it is stored trimmed and whole', async () => {
    const id = await createViewer(t, 'Trim');
    expect((await patchViewer(id, { nickname: '  \tSpaced  ' }, { role: 'admin' }, 200)).body.nickname).toBe('Spaced');
    const longest = `小明${'🎉'.repeat(62)}`;
    expect((await patchViewer(id, { nickname: longest }, { role: 'admin' }, 200)).body.nickname).toBe(longest);
    expect((await readViewer(id)).nickname).toBe(longest);
  });

  it('when another viewer patches it, then 403 FORBIDDEN and nothing changes', async () => {
    const id = await createViewer(t, 'Owner');
    const other = await createViewer(t, 'Intruder');
    const before = await readViewer(id);
    const res = await patchViewer(id, { nickname: 'Hacked', anonymous: true }, { role: 'audience', id: other }, 403);
    expect(res.body.code).toBe('FORBIDDEN');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await readViewer(id)).toEqual(before);
  });

  it.each(['service', 'anchor'] as const)('when a %s token patches a viewer, then 403 FORBIDDEN and nothing changes', async (role) => {
    const id = await createViewer(t, 'Guarded');
    const before = await readViewer(id);
    expect((await patchViewer(id, { nickname: 'Other' }, { role, id }, 403)).body.code).toBe('FORBIDDEN');
    expect(await readViewer(id)).toEqual(before);
  });

  it('when the viewer does not exist, then 404 AUDIENCE_NOT_FOUND for an admin and for a token of that id, and no row appears', async () => {
    const missing = (await createViewer(t, 'Last')) + 1_000_000;
    for (const as of [{ role: 'admin' as const }, { role: 'audience' as const, id: missing }]) {
      const res = await patchViewer(missing, { nickname: 'Ghost' }, as, 404);
      expect(res.body.code).toBe('AUDIENCE_NOT_FOUND');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(await t.db1('audience').where({ id: missing }).first()).toBeUndefined();
  });

  it.each([
    ['an empty object', {}, ['body']],
    ['no body at all', undefined, ['body']],
    ['an unknown field only', { status: 'DISABLED' }, ['status']],
    ['an unknown field beside a valid one', { nickname: 'Ok', totalAmount: '1.00' }, ['totalAmount']],
    ['a blank nickname', { nickname: '   ' }, ['nickname']],
    ['a 65-character nickname', { nickname: 'x'.repeat(65) }, ['nickname']],
    ['a null nickname', { nickname: null }, ['nickname']],
    ['a string for anonymous', { anonymous: 'true' }, ['anonymous']],
    ['a number for anonymous', { anonymous: 1 }, ['anonymous']],
    ['an array', [{ nickname: 'A' }], ['body']],
  ] as const)('when the body is %s, then 400 VALIDATION_FAILED naming the fields and nothing changes', async (_case, body, fields) => {
    const id = await createViewer(t, 'Stable');
    const before = await readViewer(id);
    const request = t.http.patch(`${AUDIENCES}/${id}`).set('Authorization', await t.auth('admin'));
    const res = body === undefined ? await request : await request.send(body);
    expectValidationProblem(res, [...fields]);
    expect(await readViewer(id)).toEqual(before);
  });

  it('when the id in the path is not a positive integer, then 400 on audienceId', async () => {
    expectValidationProblem(await patchViewer('abc' as unknown as number, { nickname: 'X' }, { role: 'admin' }), ['audienceId']);
  });
});

describe('listing viewers (GET /audiences)', () => {
  it('when viewers were just created, then the first page holds them newest first with the viewer shape', async () => {
    // Named apart: other files of this worker create viewers too, some on clocks set in the future.
    const tag = `Newest${Date.now().toString(36)}`;
    const ids = [await createViewer(t, `${tag} First`), await createViewer(t, `${tag} Second`), await createViewer(t, `${tag} Third`)];
    const page = await listViewers(`pageSize=3&keyword=${tag}`);
    expect(page).toMatchObject({ page: 1, pageSize: 3 });
    expect(page.total).toBeGreaterThanOrEqual(3);
    expect(page.items.map((v) => v.audienceId)).toEqual([...ids].reverse());
    expect(page.items[0]).toEqual(await readViewer(ids[2]!));
  });

  it('when filtered by a keyword, then pages of the matching viewers, newest first, with the total of all matches', async () => {
    const token = uniqueToken();
    const ids: number[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await createViewer(t, `${i}-${token}-fan`));
    await createViewer(t, `unrelated-${uniqueToken()}`);
    const newestFirst = [...ids].reverse();

    const first = await listViewers(`keyword=${token}&pageSize=2`);
    const second = await listViewers(`keyword=${token}&pageSize=2&page=2`);
    const third = await listViewers(`keyword=${token}&pageSize=2&page=3`);
    const beyond = await listViewers(`keyword=${token}&pageSize=2&page=4`);
    expect([first, second, third, beyond].map((p) => [p.page, p.pageSize, p.total, p.items.length])).toEqual([
      [1, 2, 5, 2],
      [2, 2, 5, 2],
      [3, 2, 5, 1],
      [4, 2, 5, 0],
    ]);
    expect([...first.items, ...second.items, ...third.items].map((v) => v.audienceId)).toEqual(newestFirst);
  });

  it('when the keyword differs in case or is a middle part, then it still matches; a blank keyword filters nothing', async () => {
    const token = uniqueToken();
    const id = await createViewer(t, `MiXeD-${token.toUpperCase()}-Case`);
    for (const keyword of [token.toLowerCase(), token.toUpperCase(), `mixed-${token}-case`, `${token.slice(2, 6)}`]) {
      const page = await listViewers(`keyword=${encodeURIComponent(keyword)}&pageSize=100`);
      expect(page.items.map((v) => v.audienceId)).toContain(id);
    }
    const all = await listViewers('pageSize=1');
    expect((await listViewers('keyword=%20%20&pageSize=1')).total).toBe(all.total);
  });

  it('when the keyword holds %, _ or !, then they match only themselves', async () => {
    const token = uniqueToken();
    const percent = await createViewer(t, `${token}a%b`);
    const underscore = await createViewer(t, `${token}a_b`);
    const bang = await createViewer(t, `${token}a!b`);
    const plain = await createViewer(t, `${token}axb`);
    const ids = async (keyword: string) =>
      (await listViewers(`keyword=${encodeURIComponent(keyword)}`)).items.map((v) => v.audienceId).sort((a, b) => a - b);
    expect(await ids(`${token}a%b`)).toEqual([percent]);
    expect(await ids(`${token}a_b`)).toEqual([underscore]);
    expect(await ids(`${token}a!b`)).toEqual([bang]);
    expect(await ids(`${token}a`)).toEqual([percent, underscore, bang, plain]);
  });

  it('when filtered by status, with and without a keyword, then only viewers of that status are listed and counted', async () => {
    const token = uniqueToken();
    const active = [await createViewer(t, `${token}-a1`), await createViewer(t, `${token}-a2`)];
    const disabled = [await createViewer(t, `${token}-d1`), await createViewer(t, `${token}-d2`), await createViewer(t, `${token}-d3`)];
    // No endpoint disables a viewer yet; the row is set as an operator would.
    await t.db1('audience').whereIn('id', disabled).update({ status: 'DISABLED' });

    const onlyDisabled = await listViewers(`status=DISABLED&keyword=${token}`);
    expect(onlyDisabled.total).toBe(3);
    expect(onlyDisabled.items.map((v) => [v.audienceId, v.status])).toEqual([...disabled].reverse().map((id) => [id, 'DISABLED']));
    const onlyActive = await listViewers(`status=ACTIVE&keyword=${token}`);
    expect([onlyActive.total, onlyActive.items.map((v) => v.audienceId)]).toEqual([2, [...active].reverse()]);
    expect((await listViewers(`keyword=${token}`)).total).toBe(5);

    const allDisabled = await listViewers('status=DISABLED&pageSize=100');
    expect(allDisabled.items.every((v) => v.status === 'DISABLED')).toBe(true);
    const row = await t.db1('audience').where({ status: 'DISABLED' }).count({ n: '*' }).first();
    expect(allDisabled.total).toBe(Number(row?.['n']));
  });

  it.each([
    ['pageSize=101', ['pageSize']],
    ['pageSize=0', ['pageSize']],
    ['page=0', ['page']],
    ['page=abc', ['page']],
    ['status=BANNED', ['status']],
    ['status=active', ['status']],
    [`keyword=${'x'.repeat(65)}`, ['keyword']],
    ['keyword=a&keyword=b', ['keyword']],
  ])('when the query is %s, then 400 VALIDATION_FAILED naming it', async (query, fields) => {
    const res = await t.http.get(`${AUDIENCES}?${query}`).set('Authorization', await t.auth('admin'));
    expectValidationProblem(res, fields);
  });

  it.each(['audience', 'service', 'anchor'] as const)('when a %s token lists viewers, then 403 FORBIDDEN', async (role) => {
    const res = await t.http
      .get(AUDIENCES)
      .set('Authorization', await t.auth(role))
      .expect(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });

  it('when no token is sent, then 401', async () => {
    expect((await t.http.get(AUDIENCES).expect(401)).body.code).toBe('UNAUTHENTICATED');
  });
});

interface ExplainRow {
  table: string;
  type: string;
  key: string | null;
  Extra: string | null;
}

async function explain(query: Knex.QueryBuilder): Promise<ExplainRow[]> {
  const { sql, bindings } = query.toSQL();
  const [rows] = (await t.db1.raw(`EXPLAIN ${sql}`, bindings as Knex.RawBinding[])) as unknown as [ExplainRow[]];
  return rows;
}

describe('the viewer list queries on MariaDB (EXPLAIN)', () => {
  const filters: Array<[string, AudienceFilter, string]> = [
    ['no filter', {}, 'idx_audience_list'],
    ['a keyword', { keyword: 'bob' }, 'idx_audience_list'],
    ['a status', { status: 'ACTIVE' }, 'idx_audience_status_list'],
    ['a status and a keyword', { status: 'DISABLED', keyword: 'bob' }, 'idx_audience_status_list'],
  ];

  it.each(filters)('when listing with %s, then the page walks %s in order (no filesort, no table scan)', async (_case, filter, index) => {
    const plan = await explain(audiencePageQuery(t.db1, filter, { limit: 20, offset: 40 }));
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ table: 'audience', key: index });
    expect(plan[0]!.type).not.toBe('ALL');
    expect(plan[0]!.Extra ?? '').not.toMatch(/filesort|temporary/i);
  });

  it.each(filters)('when counting with %s, then the count reads only index entries, never the table', async (_case, filter) => {
    const plan = await explain(audienceCountQuery(t.db1, filter));
    expect(plan).toHaveLength(1);
    // Any of the viewer indexes will do (the optimizer takes the narrowest covering one): index entries, no rows.
    expect(plan[0]!.key).toEqual(expect.stringMatching(/^idx_audience_/));
    expect(plan[0]!.type).not.toBe('ALL');
    expect(plan[0]!.Extra ?? '').toMatch(/Using index/);
    if (filter.status) expect(plan[0]).toMatchObject({ key: 'idx_audience_status_list', type: 'ref' });
  });
});
