import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addDays } from '../../src/modules/anchor/reward-records/reward-days';
import { formatFen } from '../../src/shared/money';
import { localDateOf } from '../../src/shared/time-zone';
import { createAnchor, createTestPlatform, createViewer, type TestPlatform } from '../support/platform';
import { asRecord, newestFirst, recordStage, seedRewards, type SeededReward } from '../support/reward-records';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(() => t.close());

const A = '/anchor/api/v1';
const U = '/audience/api/v1';

function getPage(path: string, auth: string, query: Record<string, string | number> = {}) {
  return t.http.get(path).query(query).set('Authorization', auth);
}

describe('an anchor’s rewards', () => {
  it('when listed in pages, then newest first (ties by the larger id), total counts all, pages join without overlap', async () => {
    const s = await recordStage(t);
    const [v1, v2] = s.viewerIds;
    const seeded = await seedRewards(t, s.anchorId, [
      { at: '2026-02-01T10:00:00.000Z', fen: 100, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-02-01T10:00:01.000Z', fen: 250, audienceId: v2, liveRoomId: s.otherRoomId },
      { at: '2026-02-01T10:00:01.000Z', fen: 1, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-02-02T00:00:00.000Z', fen: 99_999, audienceId: v2, liveRoomId: s.roomId },
      { at: '2026-01-31T23:59:59.999Z', fen: 5, audienceId: v1, liveRoomId: s.otherRoomId },
    ]);
    const auth = await t.auth('anchor', s.anchorId);
    const pages = [];
    for (const page of [1, 2]) {
      const res = await getPage(`${A}/anchors/${s.anchorId}/rewards`, auth, { page, pageSize: 3 }).expect(200);
      expect(res.body).toMatchObject({ page, pageSize: 3, total: 5 });
      pages.push(...res.body.items);
    }
    expect(pages).toEqual(newestFirst(seeded).map(asRecord));
    // The tie at 10:00:01: the later id first.
    expect(pages[1].rechargeId).toBe(seeded[2]!.rechargeId);
    expect(pages.reduce((sum: number, r: { amount: string }) => sum + Math.round(Number(r.amount) * 100), 0)).toBe(
      100 + 250 + 1 + 99_999 + 5,
    );
    const beyond = await getPage(`${A}/anchors/${s.anchorId}/rewards`, auth, { page: 3, pageSize: 3 }).expect(200);
    expect(beyond.body).toEqual({ items: [], page: 3, pageSize: 3, total: 5 });
  });

  it('when a time range is given, then it is half-open: a reward at `from` is in, one at `to` is out', async () => {
    const s = await recordStage(t);
    const [v1] = s.viewerIds;
    const seeded = await seedRewards(
      t,
      s.anchorId,
      ['2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.001Z', '2026-03-01T23:59:59.999Z', '2026-03-02T00:00:00.000Z'].map((at) => ({
        at,
        fen: 300,
        audienceId: v1,
        liveRoomId: s.roomId,
      })),
    );
    const res = await getPage(`${A}/anchors/${s.anchorId}/rewards`, await t.auth('admin'), {
      from: '2026-03-01T08:00:00+08:00',
      to: '2026-03-02T00:00:00Z',
    }).expect(200);
    expect(res.body.total).toBe(3);
    expect(res.body.items.map((r: { rechargeId: number }) => r.rechargeId)).toEqual(
      [seeded[2], seeded[1], seeded[0]].map((r) => r!.rechargeId),
    );
  });

  it('when a room’s rewards are listed, then only that room’s, for its anchor or admin', async () => {
    const s = await recordStage(t);
    const [v1, v2] = s.viewerIds;
    const seeded = await seedRewards(t, s.anchorId, [
      { at: '2026-02-01T10:00:00.000Z', fen: 100, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-02-01T11:00:00.000Z', fen: 200, audienceId: v2, liveRoomId: s.otherRoomId },
      { at: '2026-02-01T12:00:00.000Z', fen: 300, audienceId: v2, liveRoomId: s.roomId },
    ]);
    for (const auth of [await t.auth('anchor', s.anchorId), await t.auth('admin')]) {
      const res = await getPage(`${A}/live-rooms/${s.roomId}/rewards`, auth).expect(200);
      expect(res.body).toEqual({ items: [seeded[2], seeded[0]].map((r) => asRecord(r!)), page: 1, pageSize: 20, total: 2 });
    }
  });

  it('when a viewer lists its rewards, then every anchor’s rewards from it, and nobody else’s', async () => {
    const s = await recordStage(t);
    const other = await recordStage(t);
    const viewer = s.viewerIds[0];
    const mine = [
      ...(await seedRewards(t, s.anchorId, [{ at: '2026-02-01T10:00:00.000Z', fen: 100, audienceId: viewer, liveRoomId: s.roomId }])),
      ...(await seedRewards(t, other.anchorId, [
        { at: '2026-02-03T10:00:00.000Z', fen: 700, audienceId: viewer, liveRoomId: other.roomId },
      ])),
    ];
    await seedRewards(t, s.anchorId, [{ at: '2026-02-02T10:00:00.000Z', fen: 1, audienceId: s.viewerIds[1], liveRoomId: s.roomId }]);
    for (const auth of [await t.auth('audience', viewer), await t.auth('service'), await t.auth('admin')]) {
      const res = await getPage(`${U}/audiences/${viewer}/rewards`, auth).expect(200);
      expect(res.body).toEqual({ items: newestFirst(mine).map(asRecord), page: 1, pageSize: 20, total: 2 });
    }
  });
});

describe('who may read reward records, and what is refused', () => {
  it('when another anchor, another viewer or the other anchor’s room is asked for, then 403; unknown ids 404', async () => {
    const s = await recordStage(t);
    const otherAnchor = await createAnchor(t, 'Other');
    const otherViewer = await createViewer(t, 'other');
    const expectCode = async (path: string, auth: string, status: number, code: string) => {
      const res = await getPage(path, auth).expect(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe(code);
    };
    const foreignAnchor = await t.auth('anchor', otherAnchor);
    await expectCode(`${A}/anchors/${s.anchorId}/rewards`, foreignAnchor, 403, 'FORBIDDEN');
    await expectCode(`${A}/anchors/${s.anchorId}/rewards/daily`, foreignAnchor, 403, 'FORBIDDEN');
    await expectCode(`${A}/anchors/${s.anchorId}/rewards.csv`, foreignAnchor, 403, 'FORBIDDEN');
    await expectCode(`${A}/live-rooms/${s.roomId}/rewards`, foreignAnchor, 403, 'FORBIDDEN');
    await expectCode(`${U}/audiences/${s.viewerIds[0]}/rewards`, await t.auth('audience', otherViewer), 403, 'FORBIDDEN');
    await expectCode(`${A}/anchors/${s.anchorId}/rewards`, await t.auth('audience', s.viewerIds[0]), 403, 'FORBIDDEN');
    const admin = await t.auth('admin');
    await expectCode(`${A}/anchors/999999999/rewards`, admin, 404, 'ANCHOR_NOT_FOUND');
    await expectCode(`${A}/anchors/999999999/rewards/daily`, admin, 404, 'ANCHOR_NOT_FOUND');
    await expectCode(`${A}/anchors/999999999/rewards.csv`, admin, 404, 'ANCHOR_NOT_FOUND');
    await expectCode(`${A}/live-rooms/999999999/rewards`, admin, 404, 'LIVE_ROOM_NOT_FOUND');
    await expectCode(`${U}/audiences/999999999/rewards`, admin, 404, 'AUDIENCE_NOT_FOUND');
    const res = await t.http.get(`${A}/anchors/${s.anchorId}/rewards`).expect(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['from equal to to', 'rewards', { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'to'],
    ['from after to', 'rewards', { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'to'],
    ['a from that is no ISO time', 'rewards', { from: '2026-13-01' }, 'from'],
    ['a to without a zone', 'rewards', { to: '2026-01-01T00:00:00' }, 'to'],
    ['a pageSize above 100', 'rewards', { pageSize: 101 }, 'pageSize'],
    ['a snapshot that is no id', 'rewards', { snapshot: 'latest' }, 'snapshot'],
    ['a CSV range backwards', 'rewards.csv', { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'to'],
    ['daily days backwards', 'rewards/daily', { from: '2026-01-02', to: '2026-01-01' }, 'to'],
    ['daily with a date-time', 'rewards/daily', { from: '2026-01-01T00:00:00Z' }, 'from'],
    ['daily over 366 days', 'rewards/daily', { from: '2025-01-01', to: '2026-01-03' }, 'to'],
  ])('when %s, then 400 VALIDATION_FAILED naming the field', async (_name, path, query, field) => {
    const s = await recordStage(t);
    const res = await getPage(`${A}/anchors/${s.anchorId}/${path}`, await t.auth('admin'), query).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('when a path id is not a number, then 400', async () => {
    const res = await getPage(`${A}/anchors/abc/rewards`, await t.auth('admin')).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('stable paging under a snapshot', () => {
  it('when rewards arrive between page 1 and page 2, then the pages under the snapshot have no duplicate and no gap', async () => {
    const s = await recordStage(t);
    const [v1, v2] = s.viewerIds;
    const before = await seedRewards(
      t,
      s.anchorId,
      [1, 2, 3, 4, 5].map((minute) => ({
        at: `2026-04-01T10:0${minute}:00.000Z`,
        fen: minute * 100,
        audienceId: v1,
        liveRoomId: s.roomId,
      })),
    );
    const auth = await t.auth('anchor', s.anchorId);
    const url = `${A}/anchors/${s.anchorId}/rewards`;
    const first = await getPage(url, auth, { pageSize: 2 }).expect(200);
    const snapshot = first.headers['x-page-snapshot'] as string;
    expect(Number(snapshot)).toBe(Math.max(...before.map((r) => r.rechargeId)));

    const arrived = await seedRewards(
      t,
      s.anchorId,
      [6, 7, 8].map((minute) => ({ at: `2026-04-01T10:0${minute}:00.000Z`, fen: 1, audienceId: v2, liveRoomId: s.roomId })),
    );
    const listed: SeededReward['rechargeId'][] = first.body.items.map((r: { rechargeId: number }) => r.rechargeId);
    for (const page of [2, 3]) {
      const res = await getPage(url, auth, { pageSize: 2, page, snapshot }).expect(200);
      expect(res.body.total).toBe(5);
      expect(res.headers['x-page-snapshot']).toBe(snapshot);
      listed.push(...res.body.items.map((r: { rechargeId: number }) => r.rechargeId));
    }
    expect(listed).toEqual(newestFirst(before).map((r) => r.rechargeId));

    // Without the snapshot the second page has shifted by the three newcomers: what the snapshot prevents.
    const shifted = await getPage(url, auth, { pageSize: 2, page: 2 }).expect(200);
    expect(shifted.body.total).toBe(8);
    expect(shifted.body.items[0].rechargeId).toBe(arrived[0]!.rechargeId);
    expect(shifted.body.items[1].rechargeId).toBe(before[4]!.rechargeId);
  });

  it('when a list has no rewards, then the snapshot is 0 and later rewards stay out of it', async () => {
    const s = await recordStage(t);
    const auth = await t.auth('anchor', s.anchorId);
    const empty = await getPage(`${A}/anchors/${s.anchorId}/rewards`, auth).expect(200);
    expect(empty.headers['x-page-snapshot']).toBe('0');
    await seedRewards(t, s.anchorId, [{ at: '2026-04-01T10:00:00.000Z', fen: 1, audienceId: s.viewerIds[0], liveRoomId: s.roomId }]);
    const res = await getPage(`${A}/anchors/${s.anchorId}/rewards`, auth, { snapshot: 0 }).expect(200);
    expect(res.body).toEqual({ items: [], page: 1, pageSize: 20, total: 0 });
  });
});

describe('an anchor’s daily summary', () => {
  it('when rewards straddle midnight in Asia/Shanghai, then each lands on its local day; sums match the rows to the fen; empty days are zeros', async () => {
    const s = await recordStage(t);
    const [v1, v2] = s.viewerIds;
    const seeded = await seedRewards(t, s.anchorId, [
      // 2026-03-01 23:59:59.999 in Shanghai (UTC+8), and the next instant, 2026-03-02 00:00.
      { at: '2026-03-01T15:59:59.999Z', fen: 1_001, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-03-01T16:00:00.000Z', fen: 2_002, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-03-02T03:00:00.000Z', fen: 3_003, audienceId: v2, liveRoomId: s.otherRoomId },
      { at: '2026-03-02T15:00:00.000Z', fen: 7, audienceId: v1, liveRoomId: s.roomId },
      // Before and after the range asked for: left out.
      { at: '2026-02-28T15:59:59.999Z', fen: 50_000, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-03-04T16:00:00.000Z', fen: 60_000, audienceId: v1, liveRoomId: s.roomId },
    ]);
    const res = await getPage(`${A}/anchors/${s.anchorId}/rewards/daily`, await t.auth('anchor', s.anchorId), {
      from: '2026-03-01',
      to: '2026-03-05',
    }).expect(200);
    expect(res.body).toEqual({
      from: '2026-03-01',
      to: '2026-03-05',
      timeZone: 'Asia/Shanghai',
      items: [
        { day: '2026-03-01', totalAmount: '10.01', rewardCount: 1, supporterCount: 1 },
        { day: '2026-03-02', totalAmount: '50.12', rewardCount: 3, supporterCount: 2 },
        { day: '2026-03-03', totalAmount: '0.00', rewardCount: 0, supporterCount: 0 },
        { day: '2026-03-04', totalAmount: '0.00', rewardCount: 0, supporterCount: 0 },
      ],
    });
    const inRange = seeded.slice(0, 4).reduce((sum, r) => sum + r.fen, 0);
    expect(formatFen(inRange)).toBe('60.13');
  });

  it('when no range is given, then the last 30 days up to today in the zone, every day present', async () => {
    const s = await recordStage(t);
    const today = localDateOf(new Date(), 'Asia/Shanghai');
    await seedRewards(t, s.anchorId, [{ at: new Date().toISOString(), fen: 4_200, audienceId: s.viewerIds[0], liveRoomId: s.roomId }]);
    const res = await getPage(`${A}/anchors/${s.anchorId}/rewards/daily`, await t.auth('admin')).expect(200);
    expect(res.body.items).toHaveLength(30);
    const days = res.body.items.map((i: { day: string }) => i.day);
    expect(days).toEqual([...days].sort());
    // A midnight may pass between reading `today` and the request.
    expect([today, addDays(today, 1)]).toContain(days[29]);
    expect(days[0]).toBe(addDays(days[29], -29));
    expect(res.body.items.reduce((sum: number, i: { totalAmount: string }) => sum + Math.round(Number(i.totalAmount) * 100), 0)).toBe(
      4_200,
    );
  });

  it('when the zone keeps daylight saving (America/New_York), then the 23-hour day and its neighbours split at local midnight', async () => {
    const ny = await createTestPlatform({ TIME_ZONE: 'America/New_York' });
    try {
      const s = await recordStage(ny);
      const v = s.viewerIds[0];
      await seedRewards(
        ny,
        s.anchorId,
        [
          ['2026-03-08T04:59:59.999Z', 1], // 2026-03-07 23:59:59.999 EST
          ['2026-03-08T05:00:00.000Z', 10], // 2026-03-08 00:00 EST
          ['2026-03-09T03:59:59.999Z', 100], // 2026-03-08 23:59:59.999 EDT (clocks went forward at 02:00)
          ['2026-03-09T04:00:00.000Z', 1_000], // 2026-03-09 00:00 EDT
        ].map(([at, fen]) => ({ at: at as string, fen: fen as number, audienceId: v, liveRoomId: s.roomId })),
      );
      const res = await ny.http
        .get(`${A}/anchors/${s.anchorId}/rewards/daily`)
        .query({ from: '2026-03-07', to: '2026-03-10' })
        .set('Authorization', await ny.auth('admin'))
        .expect(200);
      expect(res.body.timeZone).toBe('America/New_York');
      expect(res.body.items.map((i: { day: string; totalAmount: string }) => [i.day, i.totalAmount])).toEqual([
        ['2026-03-07', '0.01'],
        ['2026-03-08', '1.10'],
        ['2026-03-09', '10.00'],
      ]);
    } finally {
      await ny.close();
    }
  });
});

describe('an anchor’s rewards as CSV', () => {
  it('when downloaded, then the exact header, one line per reward oldest first, amounts summing to the rows', async () => {
    const s = await recordStage(t);
    const [v1, v2] = s.viewerIds;
    const seeded = await seedRewards(t, s.anchorId, [
      { at: '2026-05-02T00:00:00.000Z', fen: 12_345, audienceId: v2, liveRoomId: s.otherRoomId },
      { at: '2026-05-01T00:00:00.000Z', fen: 1, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-05-01T00:00:00.000Z', fen: 10_000_000, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-05-03T00:00:00.000Z', fen: 999, audienceId: v1, liveRoomId: s.roomId },
    ]);
    const res = await t.http
      .get(`${A}/anchors/${s.anchorId}/rewards.csv`)
      .query({ to: '2026-05-03T00:00:00Z' })
      .set('Authorization', await t.auth('anchor', s.anchorId))
      .buffer(true)
      .parse((response, done) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => done(null, text));
      })
      .expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="anchor-${s.anchorId}-rewards.csv"`);
    const expected = [seeded[1]!, seeded[2]!, seeded[0]!].map(
      (r) => `${r.rechargeId},${r.traceId},${r.createdAt},${r.liveRoomId},${r.audienceId},${formatFen(r.fen)},SUCCESS`,
    );
    expect(res.body).toBe(`rechargeId,traceId,createdAt,liveRoomId,audienceId,amount,status\n${expected.join('\n')}\n`);
    const lines = (res.body as string).trim().split('\n').slice(1);
    expect(lines.reduce((sum, line) => sum + Math.round(Number(line.split(',')[5]) * 100), 0)).toBe(12_345 + 1 + 10_000_000);
  });

  it('when the range holds no reward, then the header line alone', async () => {
    const s = await recordStage(t);
    const res = await t.http
      .get(`${A}/anchors/${s.anchorId}/rewards.csv`)
      .set('Authorization', await t.auth('admin'))
      .buffer(true)
      .parse((response, done) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => done(null, text));
      })
      .expect(200);
    expect(res.body).toBe('rechargeId,traceId,createdAt,liveRoomId,audienceId,amount,status\n');
  });
});
