import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { boardKeys } from '../../src/modules/audience/boards/boards.redis';
import {
  boardRewardsQuery,
  consumptionTiedQuery,
  firstRewardTimesQuery,
  topConsumptionQuery,
  topViewerTotalsQuery,
  viewerTotalsQuery,
} from '../../src/modules/audience/boards/boards.repository';
import { boardLoads, expectedFor, platformBoard, reward, roomBoard, type BoardBody } from '../support/boards';
import { testClock } from '../support/clock';
import { createTestPlatform, liveStage, type TestPlatform } from '../support/platform';
import { PrivateRedis, waitUntil } from '../support/private-redis';

const CACHE_TTL_MS = 100;
const pastCacheLifetime = () => new Promise((resolve) => setTimeout(resolve, CACHE_TTL_MS + 50));

/** Every board the test looks at, each equal to the GROUP BY over the reward rows of its period. */
async function expectBoardsExact(t: TestPlatform, roomId: number): Promise<BoardBody[]> {
  const boards = [
    await roomBoard(t, roomId, 'day'),
    await roomBoard(t, roomId, 'week'),
    await roomBoard(t, roomId, 'all'),
    await platformBoard(t, 'day'),
    await platformBoard(t, 'month'),
  ];
  for (const board of boards) expect(board.items).toEqual(await expectedFor(t, board));
  return boards;
}

describe('TOP10 boards when Redis fails', () => {
  let redis: PrivateRedis;
  let t: TestPlatform;

  async function startPlatform(options: { durable?: boolean }, start: Date): Promise<void> {
    redis = await PrivateRedis.start(options);
    t = await createTestPlatform(
      { REDIS_URL: redis.url, TOP10_CACHE_TTL_MS: String(CACHE_TTL_MS), REDIS_COMMAND_TIMEOUT_MS: '150' },
      { clock: testClock(start) },
    );
  }

  async function redisUsableAgain(): Promise<void> {
    await waitUntil(() => Promise.resolve(t.redis.isUsable()), 'Redis usable again', 10_000);
  }

  afterEach(async () => {
    await t.close();
    await redis.dispose();
  });

  it('when Redis restarts empty, then the next reads rebuild every board from DB1 and they are exact', async () => {
    await startPlatform({}, new Date('2031-07-09T04:00:00.000Z'));
    const { roomId, viewerIds } = await liveStage(t, 3);
    await expectBoardsExact(t, roomId);
    await reward(t, roomId, viewerIds[0]!, '8.00');
    await reward(t, roomId, viewerIds[1]!, '9.00');

    await redis.kill();
    await redis.restart();
    await redisUsableAgain();
    // Sent to boards Redis no longer has: dropped there, and still counted by the rebuild.
    await reward(t, roomId, viewerIds[2]!, '8.00');
    await reward(t, roomId, viewerIds[0]!, '1.00');
    await pastCacheLifetime();

    const redisLoads = await boardLoads(t, 'redis');
    const [day] = await expectBoardsExact(t, roomId);
    expect(day!.items.map((i) => [i.audienceId, i.totalAmount])).toEqual([
      [viewerIds[0], '9.00'],
      [viewerIds[1], '9.00'],
      [viewerIds[2], '8.00'],
    ]);
    expect((await boardLoads(t, 'redis')) - redisLoads).toBe(5);
    const keys = boardKeys({ liveRoomId: roomId }, 'day', new Date(day!.from!));
    expect(await t.redis.client!.zcard(keys.totals)).toBe(3);
  });

  it('when Redis is down, then the boards are answered from DB1; when it comes back with its memory, the rewards it missed are counted at once', async () => {
    await startPlatform({ durable: true }, new Date('2031-08-13T04:00:00.000Z'));
    const { roomId, viewerIds } = await liveStage(t, 2);
    await reward(t, roomId, viewerIds[0]!, '3.00');
    await expectBoardsExact(t, roomId);

    await redis.kill();
    await reward(t, roomId, viewerIds[1]!, '4.00');
    await reward(t, roomId, viewerIds[0]!, '2.00');
    await pastCacheLifetime();
    const dbLoads = await boardLoads(t, 'db');
    const [down] = await expectBoardsExact(t, roomId);
    expect(down!.items.map((i) => [i.audienceId, i.totalAmount])).toEqual([
      [viewerIds[0], '5.00'],
      [viewerIds[1], '4.00'],
    ]);
    expect((await boardLoads(t, 'db')) - dbLoads).toBe(5);

    await redis.restart();
    await redisUsableAgain();
    const keys = boardKeys({ liveRoomId: roomId }, 'day', new Date(down!.from!));
    // The boards came back as Redis kept them: without the rewards of the outage.
    expect(await t.redis.client!.zscore(keys.totals, String(viewerIds[0]))).toBe('300');
    await pastCacheLifetime();
    const redisLoads = await boardLoads(t, 'redis');
    const [back] = await expectBoardsExact(t, roomId);
    expect(back!.items).toEqual(down!.items);
    expect((await boardLoads(t, 'redis')) - redisLoads).toBe(5);
    expect(await t.redis.client!.zscore(keys.totals, String(viewerIds[0]))).toBe('500');
  });

  it('when Redis freezes under a reward and runs its script late, then the reward is counted once', async () => {
    await startPlatform({}, new Date('2031-09-10T04:00:00.000Z'));
    const { roomId, viewerIds } = await liveStage(t, 1);
    await reward(t, roomId, viewerIds[0]!, '1.00');
    await expectBoardsExact(t, roomId);

    redis.freeze();
    try {
      await reward(t, roomId, viewerIds[0]!, '2.00');
      await waitUntil(() => Promise.resolve(!t.redis.isUsable()), 'the boards pipeline to time out', 5000);
      await pastCacheLifetime();
      const [frozen] = await expectBoardsExact(t, roomId);
      expect(frozen!.items.map((i) => [i.totalAmount, i.rewardCount])).toEqual([['3.00', 2]]);
    } finally {
      redis.thaw();
    }
    await redisUsableAgain();
    await pastCacheLifetime();
    const [thawed] = await expectBoardsExact(t, roomId);
    expect(thawed!.items.map((i) => [i.totalAmount, i.rewardCount])).toEqual([['3.00', 2]]);
    const keys = boardKeys({ liveRoomId: roomId }, 'all', null);
    expect(await t.redis.client!.hget(keys.state, `c:${viewerIds[0]}`)).toBe('2');
  });
});

describe('TOP10 board queries use their indexes (EXPLAIN on MariaDB)', () => {
  let t: TestPlatform;
  const room = { liveRoomId: 0 };
  beforeAll(async () => {
    t = await createTestPlatform();
    // Enough viewers and rewards that a full scan is not the cheaper plan by accident.
    const { roomId, viewerIds } = await liveStage(t, 30);
    for (const [i, id] of viewerIds.entries()) await reward(t, roomId, id, `${i + 1}.00`);
    room.liveRoomId = roomId;
  });
  afterAll(() => t.close());

  async function explain(query: Knex.QueryBuilder, table: string): Promise<{ key: string | null; type: string }> {
    const [rows] = (await t.db1.raw(`EXPLAIN ${query.toQuery()}`)) as [Array<{ table: string; key: string | null; type: string }>];
    const row = rows.find((r) => r.table === table);
    if (!row) throw new Error(`no plan row for ${table}: ${JSON.stringify(rows)}`);
    return row;
  }

  const platform = { liveRoomId: null };
  // The room's rewards were sent just now; the platform's day is one of a far year (a day's rewards among many days').
  const today = { from: new Date(Date.now() - 3_600_000), before: new Date(Date.now() + 3_600_000) };
  const day = { from: new Date('2031-03-11T16:00:00.000Z'), before: new Date('2031-03-12T16:00:00.000Z') };
  const ever = { from: null, before: new Date(Date.now() + 3_600_000) };

  it.each([
    ["a room's rebuild (GROUP BY), one period", () => viewerTotalsQuery(t.db1, room, today), 'recharge', 'idx_recharge_room_time'],
    ["a room's rebuild (GROUP BY), all time", () => viewerTotalsQuery(t.db1, room, ever), 'recharge', 'idx_recharge_room_time'],
    ["the platform's rebuild (GROUP BY), one period", () => viewerTotalsQuery(t.db1, platform, day), 'recharge', 'idx_recharge_time'],
    ["a room's catch-up", () => boardRewardsQuery(t.db1, room, today, 2000), 'recharge', 'idx_recharge_room_time'],
    ["the platform's catch-up", () => boardRewardsQuery(t.db1, platform, day, 2000), 'recharge', 'idx_recharge_time'],
    ["a room's board without Redis", () => topViewerTotalsQuery(t.db1, room, today, 10), 'recharge', 'idx_recharge_room_time'],
    ["the platform's board without Redis", () => topViewerTotalsQuery(t.db1, platform, day, 10), 'recharge', 'idx_recharge_time'],
    ["the platform's all-time leaders", () => topConsumptionQuery(t.db1, 10), 'audience', 'idx_audience_total_amount'],
    ['the viewers tied at the last place', () => consumptionTiedQuery(t.db1, 500, 210), 'audience', 'idx_audience_total_amount'],
    ['first rewards of the candidates', () => firstRewardTimesQuery(t.db1, [1, 2, 3]), 'recharge', 'idx_recharge_audience_time'],
  ] as Array<[string, () => Knex.QueryBuilder, string, string]>)(
    'when %s is explained, then it uses its index',
    async (_name, build, table, index) => {
      const plan = await explain(build(), table);
      expect(plan.key).toBe(index);
      expect(plan.type).not.toBe('ALL');
    },
  );
});
