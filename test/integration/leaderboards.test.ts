import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { boardKeys } from '../../src/modules/audience/boards/boards.redis';
import { formatFen } from '../../src/shared/money';
import { boardLoads, expectedBoard, expectedFor, platformBoard, reward, roomBoard, VIEWERS_TOP10 } from '../support/boards';
import { testClock } from '../support/clock';
import { createTestPlatform, createViewer, liveStage, type TestPlatform } from '../support/platform';
import { waitUntil } from '../support/private-redis';

// Instants in Asia/Shanghai (UTC+8): local midnight of day D is 16:00 UTC of day D-1.
const SUNDAY_BEFORE_MIDNIGHT = new Date('2026-11-15T15:59:59.000Z'); // Sun 15 Nov 23:59:59 local
const MONDAY_AFTER_MIDNIGHT = new Date('2026-11-15T16:00:01.000Z'); // Mon 16 Nov 00:00:01 local
const MONTH_END = new Date('2026-11-30T15:59:59.000Z'); // Mon 30 Nov 23:59:59 local
const MONTH_START = new Date('2026-11-30T16:00:01.000Z'); // Tue 1 Dec 00:00:01 local

describe('TOP10 periods in Asia/Shanghai', () => {
  const clock = testClock();
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ TOP10_CACHE_TTL_MS: '60000' }, { clock });
  });
  afterAll(() => t.close());

  it('when rewards come a second either side of midnight between Sunday and Monday, then day and week split there, the month does not, and from/to are the local bounds', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    clock.stopAt(SUNDAY_BEFORE_MIDNIGHT);
    await reward(t, roomId, viewerIds[0]!, '5.00');
    const sunday = await roomBoard(t, roomId, 'day');
    const oldWeek = await roomBoard(t, roomId, 'week');
    clock.stopAt(MONDAY_AFTER_MIDNIGHT);
    await reward(t, roomId, viewerIds[1]!, '3.00');

    expect(sunday).toMatchObject({ from: '2026-11-14T16:00:00.000Z', to: '2026-11-15T16:00:00.000Z' });
    expect(sunday.items.map((i) => [i.audienceId, i.totalAmount])).toEqual([[viewerIds[0], '5.00']]);
    expect(oldWeek).toMatchObject({ from: '2026-11-08T16:00:00.000Z', to: '2026-11-15T16:00:00.000Z' });
    const monday = await roomBoard(t, roomId, 'day');
    expect(monday).toEqual({
      liveRoomId: roomId,
      period: 'day',
      from: '2026-11-15T16:00:00.000Z',
      to: '2026-11-16T16:00:00.000Z',
      items: [{ rank: 1, audienceId: viewerIds[1], nickname: 'viewer-1', totalAmount: '3.00', rewardCount: 1 }],
    });
    const week = await roomBoard(t, roomId, 'week');
    expect(week).toMatchObject({ from: '2026-11-15T16:00:00.000Z', to: '2026-11-22T16:00:00.000Z' });
    expect(week.items.map((i) => [i.audienceId, i.totalAmount])).toEqual([[viewerIds[1], '3.00']]);
    const month = await roomBoard(t, roomId, 'month');
    expect(month).toMatchObject({ from: '2026-10-31T16:00:00.000Z', to: '2026-11-30T16:00:00.000Z' });
    expect(month.items.map((i) => [i.audienceId, i.totalAmount])).toEqual([
      [viewerIds[0], '5.00'],
      [viewerIds[1], '3.00'],
    ]);
    const all = await roomBoard(t, roomId, 'all');
    expect(all).toMatchObject({ period: 'all', from: null, to: null });
    expect(all.items).toEqual(await expectedFor(t, all));
  });

  it('when rewards come a second either side of a month end, then the month splits there and December runs to 1 January', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    clock.stopAt(MONTH_END);
    await reward(t, roomId, viewerIds[0]!, '7.00');
    const november = await roomBoard(t, roomId, 'month');
    clock.stopAt(MONTH_START);
    // The board of December is built before the reward: the reward path counts it.
    const emptyDecember = await roomBoard(t, roomId, 'month');
    await reward(t, roomId, viewerIds[1]!, '2.00');
    await waitUntilBoard(() => roomBoard(t, roomId, 'day'), 1);

    expect(november.items.map((i) => [i.audienceId, i.totalAmount])).toEqual([[viewerIds[0], '7.00']]);
    expect(emptyDecember).toMatchObject({ from: '2026-11-30T16:00:00.000Z', to: '2026-12-31T16:00:00.000Z', items: [] });
    const week = await roomBoard(t, roomId, 'week');
    // Monday 30 November to Monday 7 December: both rewards.
    expect(week).toMatchObject({ from: '2026-11-29T16:00:00.000Z', to: '2026-12-06T16:00:00.000Z' });
    expect(week.items.map((i) => i.totalAmount)).toEqual(['7.00', '2.00']);
  });
});

async function waitUntilBoard(read: () => Promise<{ items: unknown[] }>, items: number): Promise<void> {
  await waitUntil(async () => (await read()).items.length === items, `a board of ${items} viewers`, 3000);
}

describe('TOP10 boards kept in Redis (cache lifetime 100 ms)', () => {
  // A Wednesday noon in Shanghai no other test file uses: the platform's day, week and month are this file's alone.
  const clock = testClock(new Date('2031-03-12T04:00:00.000Z'));
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ TOP10_CACHE_TTL_MS: '100' }, { clock });
  });
  afterAll(() => t.close());

  const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

  it('when viewers tie on a board built before their rewards, then the earlier first reward ranks first, also at the tenth place', async () => {
    const { roomId, viewerIds } = await liveStage(t, 12);
    const dbLoads = await boardLoads(t, 'db');
    expect((await roomBoard(t, roomId, 'day')).items).toEqual([]);
    // The last viewer (highest id) rewards first; the others climb to the same 5.00 later.
    await reward(t, roomId, viewerIds[11]!, '5.00');
    for (let i = 0; i < 11; i += 1) {
      await reward(t, roomId, viewerIds[i]!, '2.00');
      await reward(t, roomId, viewerIds[i]!, '3.00');
    }
    await settle();
    const day = await roomBoard(t, roomId, 'day');
    expect(day.items.map((i) => i.audienceId)).toEqual([viewerIds[11], ...viewerIds.slice(0, 9)]);
    expect(day.items.every((i) => i.totalAmount === '5.00')).toBe(true);
    expect(day.items[0]!.rewardCount).toBe(1);
    expect(day.items[1]!.rewardCount).toBe(2);
    expect(day.items).toEqual(await expectedFor(t, day));
    const keys = boardKeys({ liveRoomId: roomId }, 'day', new Date(day.from!));
    expect(await t.redis.client!.zcard(keys.totals)).toBe(12);
    expect(await boardLoads(t, 'db')).toBe(dbLoads);
  });

  it('when a viewer rewards in two rooms, then the platform board sums both and each room board holds its own part', async () => {
    const a = await liveStage(t, 2);
    const b = await liveStage(t, 0);
    const [x, y] = a.viewerIds as [number, number];
    const before = await platformBoard(t, 'day');
    await reward(t, a.roomId, x, '40.00');
    await reward(t, b.roomId, x, '30.00');
    await reward(t, a.roomId, y, '50.00');
    await settle();

    for (const period of ['day', 'week', 'month']) {
      const board = await platformBoard(t, period);
      expect(board.items).toEqual(await expectedFor(t, board));
      const ours = board.items.filter((i) => i.audienceId === x || i.audienceId === y);
      expect(ours.map((i) => [i.audienceId, i.totalAmount, i.rewardCount])).toEqual([
        [x, '70.00', 2],
        [y, '50.00', 1],
      ]);
    }
    expect(before).toMatchObject({ period: 'day', from: '2031-03-11T16:00:00.000Z', to: '2031-03-12T16:00:00.000Z' });
    expect((await roomBoard(t, b.roomId, 'day')).items.map((i) => [i.audienceId, i.totalAmount])).toEqual([[x, '30.00']]);
    // All time is every test's (other files of this worker reward up to 100000.00 at a time): the
    // board must equal the GROUP BY over every reward row, and x, summed over both rooms, is on it.
    await reward(t, b.roomId, x, '99999.00');
    await reward(t, b.roomId, x, '99999.00');
    await reward(t, b.roomId, x, '99999.00');
    await settle();
    const all = await platformBoard(t, 'all');
    expect(all).toMatchObject({ period: 'all', from: null, to: null });
    // All time is the viewers' consumption totals (kept in the reward's own transaction): other files
    // write reward rows straight into this worker's database, so compare each item with its viewer's.
    for (const item of all.items) {
      const viewer = await t
        .db1('audience')
        .where({ id: item.audienceId ?? 0 })
        .first();
      if (item.audienceId === null) continue;
      expect({ id: item.audienceId, total: item.totalAmount, count: item.rewardCount }).toEqual({
        id: item.audienceId,
        total: formatFen(Number(viewer.total_amount)),
        count: Number(viewer.reward_count),
      });
    }
    expect(all.items.find((i) => i.audienceId === x)).toMatchObject({ nickname: 'viewer-0', totalAmount: '300067.00', rewardCount: 5 });
    const totals = all.items.map((i) => Number(i.totalAmount));
    expect(totals).toEqual([...totals].sort((p, q) => q - p));
  });

  it('when a viewer turns anonymous, then both boards show it ranked with audienceId and nickname null within the cache lifetime, and named again when it turns back', async () => {
    const { roomId, viewerIds } = await liveStage(t, 2);
    const [shy, open] = viewerIds as [number, number];
    await reward(t, roomId, shy, '900.00');
    await reward(t, roomId, open, '800.00');
    await settle();
    expect((await roomBoard(t, roomId, 'week')).items.map((i) => i.audienceId)).toEqual([shy, open]);

    await t.db1('audience').where({ id: shy }).update({ anonymous: true });
    await settle();
    const hidden = { rank: 1, audienceId: null, nickname: null, totalAmount: '900.00', rewardCount: 1 };
    expect((await roomBoard(t, roomId, 'week')).items).toEqual([
      hidden,
      { rank: 2, audienceId: open, nickname: 'viewer-1', totalAmount: '800.00', rewardCount: 1 },
    ]);
    const platform = await platformBoard(t, 'week');
    expect(platform.items).toEqual(await expectedFor(t, platform));
    expect(platform.items.some((i) => i.audienceId === shy)).toBe(false);
    expect(platform.items).toContainEqual(expect.objectContaining({ audienceId: null, nickname: null, totalAmount: '900.00' }));

    await t.db1('audience').where({ id: shy }).update({ anonymous: false });
    await settle();
    expect((await roomBoard(t, roomId, 'week')).items[0]).toMatchObject({ audienceId: shy, nickname: 'viewer-0' });
  });

  it('when a reward reaches the boards a second time (a late pipeline, a catch-up), then it counts once', async () => {
    const { roomId, viewerIds } = await liveStage(t, 1);
    const viewer = viewerIds[0]!;
    expect((await roomBoard(t, roomId, 'day')).items).toEqual([]);
    const rechargeId = await reward(t, roomId, viewer, '6.00');
    await settle();
    const day = await roomBoard(t, roomId, 'day');
    expect(day.items.map((i) => [i.totalAmount, i.rewardCount])).toEqual([['6.00', 1]]);

    // The reward path's own script call again, for the room's day board: nothing counted.
    const [stored] = await t.db1('recharge').where({ id: rechargeId }).select('created_at');
    const createdAtMs = new Date(`${String(stored!.created_at).replace(' ', 'T')}Z`).getTime();
    const keys = boardKeys({ liveRoomId: roomId }, 'day', new Date(day.from!));
    const client = t.redis.client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>;
    expect(await client['top10ApplyReward']!(2, keys.totals, keys.state, rechargeId, viewer, 600, createdAtMs)).toBe(0);

    // A catch-up past the reward (the clock beyond the settle delay) counts it once too, and forgets its id.
    clock.stopAt(new Date(clock().getTime() + t.config.top10SettleDelayMs + 1000));
    await settle();
    const later = await roomBoard(t, roomId, 'day');
    expect(later.items.map((i) => [i.totalAmount, i.rewardCount])).toEqual([['6.00', 1]]);
    expect(await t.redis.client!.hexists(keys.state, `r:${rechargeId}`)).toBe(0);
    // Now older than the cut: a late delivery finds it in the base and counts nothing.
    expect(await client['top10ApplyReward']!(2, keys.totals, keys.state, rechargeId, viewer, 600, createdAtMs)).toBe(0);
    expect((await roomBoard(t, roomId, 'day')).items).toEqual(await expectedFor(t, later));
  });

  it('when a committed reward never reached Redis (its instance died after commit), then the boards count it once it is older than the settle delay', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t, 1);
    const viewer = viewerIds[0]!;
    await reward(t, roomId, viewer, '1.00');
    await settle();
    expect((await roomBoard(t, roomId, 'all')).items.map((i) => i.totalAmount)).toEqual(['1.00']);
    // Another instance's reward: stored, its boards never told.
    const createdAt = clock();
    await t.db1('recharge').insert({
      trace_id: `BRD-ORPHAN-${roomId}`,
      audience_id: viewer,
      live_room_id: roomId,
      anchor_id: anchorId,
      amount: 250,
      sync_status: 'PENDING',
      created_at: createdAt.toISOString().replace('T', ' ').replace('Z', ''),
    });
    await settle();
    expect((await roomBoard(t, roomId, 'all')).items.map((i) => i.totalAmount)).toEqual(['1.00']);

    clock.stopAt(new Date(createdAt.getTime() + t.config.top10SettleDelayMs + 1));
    await settle();
    const all = await roomBoard(t, roomId, 'all');
    expect(all.items.map((i) => [i.totalAmount, i.rewardCount])).toEqual([['3.50', 2]]);
    expect(all.items).toEqual(await expectedFor(t, all));
  });

  it('when a room without rewards is asked for, then its boards are empty and nothing is kept in Redis for it', async () => {
    for (const period of ['day', 'week', 'month', 'all']) expect((await roomBoard(t, 999_999_991, period)).items).toEqual([]);
    expect(await t.redis.client!.keys(`${t.config.redis.keyPrefix}top10:room:{999999991}:*`)).toEqual([]);
  });

  it('when the period or a room id is not valid, then 400', async () => {
    await t.http.get(`${VIEWERS_TOP10}?period=year`).expect(400);
    await t.http.get(`${VIEWERS_TOP10}?period=day&x=1`).expect(200);
    expect((await platformBoard(t)).period).toBe('all');
    await t.http.get('/audience/api/v1/recharge/top10?liveRoomId=0').expect(400);
  });
});

describe('TOP10 without Redis (REDIS_URL unset)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform(
      { REDIS_URL: undefined, TOP10_CACHE_TTL_MS: '100' },
      { clock: testClock(new Date('2031-05-14T04:00:00.000Z')) },
    );
  });
  afterAll(() => t.close());

  it('when boards are read, then they are the GROUP BY over DB1, ties included', async () => {
    const { roomId, viewerIds } = await liveStage(t, 3);
    const late = await createViewer(t, 'late');
    await reward(t, roomId, viewerIds[2]!, '4.00');
    await reward(t, roomId, viewerIds[0]!, '4.00');
    await reward(t, roomId, late, '1.00');
    const day = await roomBoard(t, roomId, 'day');
    expect(day.items.map((i) => i.audienceId)).toEqual([viewerIds[2], viewerIds[0], late]);
    expect(day.items).toEqual(await expectedFor(t, day));
    const platform = await platformBoard(t, 'day');
    expect(platform.items).toEqual(await expectedBoard(t, { liveRoomId: null, from: platform.from, to: platform.to }));
    expect(await boardLoads(t, 'redis')).toBe(0);
  });
});
