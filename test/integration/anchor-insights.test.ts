import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testClock, CALENDAR_NOON } from '../support/clock';
import { get, makeAnonymous, markAnchorDeleted, sendReward, storedTotals, yuan } from '../support/insights';
import { createAnchor, createRoom, createTestPlatform, liveStage, startRoom, type TestPlatform } from '../support/platform';

// The platform's clock starts at a fixed noon (Wednesday 11 November 2026 in Shanghai) and is stopped
// at chosen instants where the period matters, so a run that crosses a real midnight answers the same.
const clock = testClock();
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform({}, { clock });
});
afterAll(() => t.close());

/** An anchor with two LIVE rooms and `viewers` viewers. */
async function anchorWithTwoRooms(viewers: number): Promise<{ anchorId: number; rooms: [number, number]; viewerIds: number[] }> {
  const { anchorId, roomId, viewerIds } = await liveStage(t, viewers);
  const second = await createRoom(t, anchorId, 'Late show');
  await startRoom(t, second);
  return { anchorId, rooms: [roomId, second], viewerIds };
}

describe('GET /anchors/{anchorId}/stats', () => {
  it('when viewers reward an anchor in two rooms, then the stats equal the reward rows to the fen and count each supporter once', async () => {
    const { anchorId, rooms, viewerIds } = await anchorWithTwoRooms(3);
    const [a, b, c] = viewerIds as [number, number, number];
    await sendReward(t, rooms[0], a, '0.01');
    await sendReward(t, rooms[1], a, '99999.99');
    await sendReward(t, rooms[0], b, '12.34');
    await sendReward(t, rooms[1], b, '0.66');
    await sendReward(t, rooms[1], c, 7);
    // Another anchor's reward from the same viewer must not count.
    const other = await liveStage(t, 0);
    await sendReward(t, other.roomId, a, '50.00');

    const res = await get(t, `/anchors/${anchorId}/stats`, await t.auth('anchor', anchorId)).expect(200);

    const stored = await storedTotals(t, { anchor_id: anchorId });
    expect(stored).toEqual({ fen: 10_002_000, count: 5, viewers: 3 });
    expect(res.body).toEqual({ anchorId, totalEarnings: '100020.00', rewardCount: 5, supporterCount: 3 });
    const asAdmin = await get(t, `/anchors/${anchorId}/stats`, await t.auth('admin')).expect(200);
    expect(asAdmin.body).toEqual(res.body);
  });

  it('when an anchor has no rewards yet, then its stats are zero', async () => {
    const anchorId = await createAnchor(t, 'Quiet');
    const res = await get(t, `/anchors/${anchorId}/stats`, await t.auth('anchor', anchorId)).expect(200);
    expect(res.body).toEqual({ anchorId, totalEarnings: '0.00', rewardCount: 0, supporterCount: 0 });
  });

  it('when another anchor, a viewer or nobody asks, then 403, 403 and 401; an unknown anchor 404; a bad id 400', async () => {
    const anchorId = await createAnchor(t, 'Private');
    const other = await createAnchor(t, 'Nosy');
    const forbidden = await get(t, `/anchors/${anchorId}/stats`, await t.auth('anchor', other)).expect(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');
    await get(t, `/anchors/${anchorId}/stats`, await t.auth('audience', anchorId)).expect(403);
    await get(t, `/anchors/${anchorId}/stats`, await t.auth('service')).expect(403);
    await get(t, `/anchors/${anchorId}/stats`).expect(401);
    const unknown = await get(t, '/anchors/999999991/stats', await t.auth('admin')).expect(404);
    expect(unknown.body.code).toBe('ANCHOR_NOT_FOUND');
    for (const bad of ['abc', '0', '-1', '1.5']) {
      const res = await get(t, `/anchors/${bad}/stats`, await t.auth('admin')).expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it('when the anchor is deleted, then it reads as not found to itself and its stats remain visible to admins', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t, 1);
    await sendReward(t, roomId, viewerIds[0]!, '8.00');
    await markAnchorDeleted(t, anchorId);
    const res = await get(t, `/anchors/${anchorId}/stats`, await t.auth('anchor', anchorId)).expect(404);
    expect(res.body.code).toBe('ANCHOR_NOT_FOUND');
    const admin = await get(t, `/anchors/${anchorId}/stats`, await t.auth('admin')).expect(200);
    expect(admin.body).toEqual({ anchorId, totalEarnings: '8.00', rewardCount: 1, supporterCount: 1 });
  });
});

describe('GET /anchors/{anchorId}/top-supporters', () => {
  it('when supporters give over both rooms, then they rank by their total, ties to the earlier first reward, anonymous ones unnamed', async () => {
    const { anchorId, rooms, viewerIds } = await anchorWithTwoRooms(4);
    const [late, early, anon, small] = viewerIds as [number, number, number, number];
    await makeAnonymous(t, anon);
    const at = (offsetMs: number) => clock.stopAt(new Date(CALENDAR_NOON.getTime() + offsetMs));
    // `late` has the smaller id but its first reward comes after `early`'s: the tie goes to `early`.
    at(1000);
    await sendReward(t, rooms[1], anon, '30.00');
    at(2000);
    await sendReward(t, rooms[0], early, '10.00');
    at(3000);
    await sendReward(t, rooms[1], late, '15.50');
    at(4000);
    await sendReward(t, rooms[1], early, '5.50');
    at(5000);
    await sendReward(t, rooms[0], small, '0.01');

    const auth = await t.auth('anchor', anchorId);
    const res = await get(t, `/anchors/${anchorId}/top-supporters`, auth).expect(200);

    expect(res.body).toEqual({
      anchorId,
      period: 'all',
      from: null,
      to: null,
      items: [
        { rank: 1, audienceId: null, nickname: null, totalAmount: '30.00', rewardCount: 1 },
        { rank: 2, audienceId: early, nickname: 'viewer-1', totalAmount: '15.50', rewardCount: 2 },
        { rank: 3, audienceId: late, nickname: 'viewer-0', totalAmount: '15.50', rewardCount: 1 },
        { rank: 4, audienceId: small, nickname: 'viewer-3', totalAmount: '0.01', rewardCount: 1 },
      ],
    });
    expect(late).toBeLessThan(early);
    const stored = await storedTotals(t, { anchor_id: anchorId, audience_id: early });
    expect(yuan(stored.fen)).toBe('15.50');
    const two = await get(t, `/anchors/${anchorId}/top-supporters?limit=2`, auth).expect(200);
    expect(two.body.items.map((i: { rank: number }) => i.rank)).toEqual([1, 2]);
  });

  it('when rewards fall on both sides of Shanghai midnight and in the previous month, then day, week, month and all split them', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t, 3);
    const [a, b, c] = viewerIds as [number, number, number];
    // Thursday 12 November 2026 begins in Shanghai at 16:00 UTC on the 11th.
    const midnight = new Date('2026-11-11T16:00:00.000Z');
    clock.stopAt(new Date('2026-10-31T15:59:59.999Z')); // 31 October 23:59:59.999 in Shanghai: last month
    await sendReward(t, roomId, c, '40.00');
    clock.stopAt(new Date(midnight.getTime() - 1));
    await sendReward(t, roomId, a, '5.00');
    clock.stopAt(midnight);
    await sendReward(t, roomId, b, '3.00');
    clock.stopAt(new Date(midnight.getTime() + 60_000));

    const auth = await t.auth('admin');
    const ask = async (period: string) => (await get(t, `/anchors/${anchorId}/top-supporters?period=${period}`, auth).expect(200)).body;
    const amounts = (body: { items: Array<{ audienceId: number; totalAmount: string }> }) =>
      body.items.map((i) => [i.audienceId, i.totalAmount]);

    const day = await ask('day');
    expect([day.from, day.to]).toEqual(['2026-11-11T16:00:00.000Z', '2026-11-12T16:00:00.000Z']);
    expect(amounts(day)).toEqual([[b, '3.00']]);
    const week = await ask('week');
    expect([week.from, week.to]).toEqual(['2026-11-08T16:00:00.000Z', '2026-11-15T16:00:00.000Z']);
    expect(amounts(week)).toEqual([
      [a, '5.00'],
      [b, '3.00'],
    ]);
    const month = await ask('month');
    expect([month.from, month.to]).toEqual(['2026-10-31T16:00:00.000Z', '2026-11-30T16:00:00.000Z']);
    expect(amounts(month)).toEqual(amounts(week));
    expect(amounts(await ask('all'))).toEqual([
      [c, '40.00'],
      [a, '5.00'],
      [b, '3.00'],
    ]);
  });

  it('when limit or period is out of bounds, then 400 naming the field; another anchor 403; an unknown anchor 404', async () => {
    const anchorId = await createAnchor(t, 'Bounds');
    const auth = await t.auth('anchor', anchorId);
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['period=year', 'period'],
    ]) {
      const res = await get(t, `/anchors/${anchorId}/top-supporters?${query}`, auth).expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
    await get(t, `/anchors/${anchorId}/top-supporters?limit=100`, auth).expect(200);
    await get(t, `/anchors/${anchorId}/top-supporters`, await t.auth('anchor', anchorId + 1)).expect(403);
    expect((await get(t, '/anchors/999999992/top-supporters', await t.auth('admin')).expect(404)).body.code).toBe('ANCHOR_NOT_FOUND');
  });
});

describe('GET /live-rooms/{liveRoomId}/top-contributors', () => {
  it('when a range is given, then only the rewards in [from, to) of that room count, ranked like the TOP10', async () => {
    const { anchorId, rooms, viewerIds } = await anchorWithTwoRooms(2);
    const [a, b] = viewerIds as [number, number];
    await makeAnonymous(t, b);
    const at = (iso: string) => clock.stopAt(new Date(iso));
    at('2026-11-11T10:00:00.000Z');
    await sendReward(t, rooms[0], a, '1.00'); // at `from`: counts
    await sendReward(t, rooms[1], a, '500.00'); // the other room: never counts
    at('2026-11-11T10:30:00.000Z');
    await sendReward(t, rooms[0], b, '2.50');
    await sendReward(t, rooms[0], b, '2.50');
    at('2026-11-11T11:00:00.000Z');
    await sendReward(t, rooms[0], a, '100.00'); // at `to`: excluded

    const auth = await t.auth('anchor', anchorId);
    const range = 'from=2026-11-11T18:00:00%2B08:00&to=2026-11-11T11:00:00Z';
    const res = await get(t, `/live-rooms/${rooms[0]}/top-contributors?${range}`, auth).expect(200);
    expect(res.body).toEqual({
      liveRoomId: rooms[0],
      from: '2026-11-11T10:00:00.000Z',
      to: '2026-11-11T11:00:00.000Z',
      items: [
        { rank: 1, audienceId: null, nickname: null, totalAmount: '5.00', rewardCount: 2 },
        { rank: 2, audienceId: a, nickname: 'viewer-0', totalAmount: '1.00', rewardCount: 1 },
      ],
    });
    const all = await get(t, `/live-rooms/${rooms[0]}/top-contributors?limit=1`, await t.auth('admin')).expect(200);
    expect(all.body).toMatchObject({ from: null, to: null, items: [{ rank: 1, audienceId: a, totalAmount: '101.00', rewardCount: 2 }] });
    expect((await storedTotals(t, { live_room_id: rooms[0], audience_id: a })).fen).toBe(10_100);
  });

  it('when the range is inverted or malformed, the room unknown or someone else’s, then 400, 404 and 403', async () => {
    const { anchorId, roomId } = await liveStage(t, 0);
    const auth = await t.auth('anchor', anchorId);
    const inverted = await get(t, `/live-rooms/${roomId}/top-contributors?from=2026-11-11T11:00:00Z&to=2026-11-11T10:00:00Z`, auth);
    expect(inverted.status).toBe(400);
    expect(inverted.body.errors).toEqual([{ field: 'to', message: 'must be after from' }]);
    await get(t, `/live-rooms/${roomId}/top-contributors?from=yesterday`, auth).expect(400);
    await get(t, `/live-rooms/${roomId}/top-contributors?limit=101`, auth).expect(400);
    await get(t, '/live-rooms/abc/top-contributors', auth).expect(400);
    const unknown = await get(t, '/live-rooms/999999993/top-contributors', auth).expect(404);
    expect(unknown.body.code).toBe('LIVE_ROOM_NOT_FOUND');
    const other = await createAnchor(t, 'Other');
    expect((await get(t, `/live-rooms/${roomId}/top-contributors`, await t.auth('anchor', other)).expect(403)).body.code).toBe('FORBIDDEN');
    await get(t, `/live-rooms/${roomId}/top-contributors`).expect(401);
  });
});

describe('GET /anchors/{anchorId}/supporters/summary', () => {
  it('when some supporters had rewarded the anchor before the range, then they count as returning, the rest as new, with the top 10 share', async () => {
    const { anchorId, rooms, viewerIds } = await anchorWithTwoRooms(12);
    clock.stopAt(new Date('2026-11-01T00:00:00.000Z'));
    await sendReward(t, rooms[0], viewerIds[0]!, '9.99'); // before the range: makes viewer 0 returning
    await sendReward(t, rooms[1], viewerIds[11]!, '1.00'); // before the range only: not a supporter of the range
    clock.stopAt(new Date('2026-11-05T00:00:00.000Z'));
    // Viewers 0..10 give 1..11 yuan in the range: total 66.00, the top ten 65.00.
    for (let i = 0; i <= 10; i += 1) await sendReward(t, rooms[i % 2] as number, viewerIds[i]!, `${i + 1}.00`);
    clock.stopAt(new Date('2026-11-10T00:00:00.000Z'));
    await sendReward(t, rooms[0], viewerIds[5]!, '1000.00'); // at `to`: excluded

    const auth = await t.auth('anchor', anchorId);
    const res = await get(t, `/anchors/${anchorId}/supporters/summary?from=2026-11-02T00:00:00Z&to=2026-11-10T00:00:00Z`, auth).expect(200);
    expect(res.body).toEqual({
      anchorId,
      from: '2026-11-02T00:00:00.000Z',
      to: '2026-11-10T00:00:00.000Z',
      supporterCount: 11,
      newSupporters: 10,
      returningSupporters: 1,
      totalEarnings: '66.00',
      newSupporterEarnings: '65.00',
      returningSupporterEarnings: '1.00',
      top10Earnings: '65.00',
      top10Share: '0.9848',
    });

    const allTime = await get(t, `/anchors/${anchorId}/supporters/summary`, auth).expect(200);
    const stored = await storedTotals(t, { anchor_id: anchorId });
    expect(allTime.body).toMatchObject({
      from: null,
      to: null,
      supporterCount: stored.viewers,
      newSupporters: 12,
      returningSupporters: 0,
      totalEarnings: yuan(stored.fen),
      returningSupporterEarnings: '0.00',
    });
    expect(stored).toEqual({ fen: 107_699, count: 14, viewers: 12 });
  });

  it('when the anchor has no rewards in the range, then every figure is zero and the share 0.0000; bad ranges 400', async () => {
    const anchorId = await createAnchor(t, 'Empty');
    const auth = await t.auth('anchor', anchorId);
    const res = await get(t, `/anchors/${anchorId}/supporters/summary?from=2026-01-01T00:00:00Z`, auth).expect(200);
    expect(res.body).toMatchObject({ supporterCount: 0, newSupporters: 0, totalEarnings: '0.00', top10Share: '0.0000', to: null });
    await get(t, `/anchors/${anchorId}/supporters/summary?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`, auth).expect(400);
    await get(t, `/anchors/${anchorId}/supporters/summary`, await t.auth('anchor', anchorId + 1)).expect(403);
  });
});
