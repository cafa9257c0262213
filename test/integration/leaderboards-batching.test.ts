import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createBoardRecorder, type RecordOutcome, type StoredReward } from '../../src/modules/audience/boards/board-recorder';
import { createBoardStore } from '../../src/modules/audience/boards/boards.redis';
import { createPeriodCalendar } from '../../src/modules/audience/boards/period-calendar';
import { toDbTime } from '../../src/shared/db/time';
import { createLogger } from '../../src/shared/logger';
import { readLuaScript } from '../../src/shared/lua-script';
import { expectedFor, platformBoard, roomBoard, type BoardBody } from '../support/boards';
import { testClock } from '../support/clock';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { PrivateRedis, waitUntil } from '../support/private-redis';

const CACHE_TTL_MS = 100;
const pastCacheLifetime = () => new Promise((resolve) => setTimeout(resolve, CACHE_TTL_MS + 50));
/** The reward path's script, and the sha EVALSHA names it by. */
const APPLY_LUA = readLuaScript(join(__dirname, '../../src/modules/audience/boards/lua'), 'count-reward.lua', 'apply.lua');
const APPLY_SHA = createHash('sha1').update(APPLY_LUA).digest('hex');
/** A line of apply.lua no other script has. */
const APPLY_MARK = 'count_rewards(KEYS[i], KEYS[i + 1], ARGV, 1)';
if (!APPLY_LUA.includes(APPLY_MARK)) throw new Error('apply.lua changed: update APPLY_MARK');

/** One call of the apply script seen by MONITOR: its scope and how many rewards it carried. */
interface ApplyCall {
  scope: string;
  rewards: number;
}

/** Watches a Redis through MONITOR and keeps every call of the boards' apply script. */
async function watchApplyCalls(url: string): Promise<{ calls: ApplyCall[]; stop(): void }> {
  const client = new Redis(url);
  const monitor = await client.monitor();
  const calls: ApplyCall[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    const [command, script, keyCount] = args;
    // Sent as EVAL (the script not loaded yet), the call carries its text (MONITOR escapes it) and no sha.
    const isApply =
      command?.toLowerCase() === 'evalsha'
        ? script === APPLY_SHA
        : command?.toLowerCase() === 'eval' && script?.includes(APPLY_MARK) === true;
    if (!isApply) return;
    const keys = args.slice(3, 3 + Number(keyCount));
    const scope = /top10:(room:\{\d+\}|viewers:\{platform\})/.exec(keys[0] ?? '')?.[1] ?? 'unknown';
    // Every board of a call is of its scope (one slot); a key of another scope shows as a scope of its own.
    const mixed = keys.some((key) => !key.includes(`top10:${scope}:`));
    calls.push({ scope: mixed ? 'mixed' : scope, rewards: (args.length - 3 - Number(keyCount)) / 4 });
  });
  return {
    calls,
    stop: () => {
      monitor.disconnect();
      client.disconnect();
    },
  };
}

/** `top10_board_rewards_total{outcome}` so far. */
async function boardRewards(t: TestPlatform, outcome: RecordOutcome): Promise<number> {
  const metric = t.metrics.registry.getSingleMetric('top10_board_rewards_total');
  const values = metric ? (await metric.get()).values : [];
  return values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
}

/** Every board of the rooms and of the platform (building those not built yet). */
async function allBoards(t: TestPlatform, roomIds: readonly number[]): Promise<BoardBody[]> {
  const boards: BoardBody[] = [];
  for (const roomId of roomIds) for (const period of ['day', 'week', 'month', 'all']) boards.push(await roomBoard(t, roomId, period));
  for (const period of ['day', 'week', 'month']) boards.push(await platformBoard(t, period));
  return boards;
}

async function expectBoardsExact(t: TestPlatform, roomIds: readonly number[]): Promise<void> {
  for (const board of await allBoards(t, roomIds)) expect(board.items).toEqual(await expectedFor(t, board));
}

describe('TOP10 boards: the rewards of a turn go to Redis as one script call per scope', () => {
  const clock = testClock(new Date('2031-10-15T04:00:00.000Z'));
  let redis: PrivateRedis;
  let t: TestPlatform;
  let watch: { calls: ApplyCall[]; stop(): void };

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await createTestPlatform({ REDIS_URL: redis.url, TOP10_CACHE_TTL_MS: String(CACHE_TTL_MS) }, { clock });
  });
  afterAll(async () => {
    await t.close();
    await redis.dispose();
  });
  beforeEach(async () => {
    watch = await watchApplyCalls(redis.url);
  });
  afterEach(() => watch.stop());

  it('when one batch request stores 36 rewards in 3 rooms, then Redis gets 3 room calls and 1 platform call, and every board equals the GROUP BY', async () => {
    const stages = [await liveStage(t, 4), await liveStage(t, 4), await liveStage(t, 4)];
    const roomIds = stages.map((s) => s.roomId);
    await allBoards(t, roomIds); // built now: what the rewards below add is counted by the reward path alone
    const items = Array.from({ length: 36 }, (_, i) => {
      const { roomId, viewerIds } = stages[i % 3]!;
      return { traceId: newTraceId('BATCH'), audienceId: viewerIds[i % 4]!, liveRoomId: roomId, amount: `${i + 1}.00` };
    });
    const sentBefore = await boardRewards(t, 'sent');

    const res = await t.http
      .post('/audience/api/v1/recharge/batch')
      .set('Authorization', await t.auth('service'))
      .send({ items });
    expect(res.status).toBe(200);
    expect((res.body as { results: Array<{ status: number }> }).results.map((r) => r.status)).toEqual(items.map(() => 201));
    await waitUntil(async () => (await boardRewards(t, 'sent')) - sentBefore === 36, 'the boards to count 36 rewards');
    await waitUntil(() => Promise.resolve(watch.calls.length >= 4), 'MONITOR to show the apply calls');

    const byScope = (scope: string) => watch.calls.filter((c) => c.scope === scope).map((c) => c.rewards);
    expect(watch.calls).toHaveLength(4); // was 72: two calls per reward
    for (const roomId of roomIds) expect(byScope(`room:{${roomId}}`)).toEqual([12]);
    expect(byScope('viewers:{platform}')).toEqual([36]);
    expect(await boardRewards(t, 'missed')).toBe(0);
    await pastCacheLifetime();
    await expectBoardsExact(t, roomIds);
    const day = await roomBoard(t, roomIds[0]!, 'day');
    // Room 0 got items 0, 3, …, 33: viewer 0 of it items 0, 12, 24 (1 + 13 + 25).
    expect(day.items.find((i) => i.audienceId === stages[0]!.viewerIds[0])).toMatchObject({ totalAmount: '39.00', rewardCount: 3 });
  });

  it('when a turn carries a reward twice, rewards of two rooms and more than a call may carry, then each counts once and the calls stay bounded', async () => {
    const stages = [await liveStage(t, 3), await liveStage(t, 3)];
    const roomIds = stages.map((s) => s.roomId);
    await allBoards(t, roomIds);
    // 600 rewards straight into DB1 (another instance's rows, say), then handed to a recorder of this test in one turn.
    const createdAt = clock();
    const rows = Array.from({ length: 600 }, (_, i) => {
      const { anchorId, roomId, viewerIds } = stages[i < 550 ? 0 : 1]!;
      return {
        trace_id: newTraceId('TURN'),
        audience_id: viewerIds[i % 3]!,
        live_room_id: roomId,
        anchor_id: anchorId,
        amount: 100 + i,
        sync_status: 'PENDING',
        created_at: toDbTime(createdAt),
      };
    });
    await t.db1('recharge').insert(rows);
    const stored = await t
      .db1('recharge')
      .whereIn('live_room_id', roomIds)
      .select('id', 'audience_id', 'live_room_id', 'amount')
      .orderBy('id');
    expect(stored).toHaveLength(600);
    const rewards: StoredReward[] = stored.map((row: { id: number; audience_id: number; live_room_id: number; amount: number }) => ({
      rechargeId: row.id,
      liveRoomId: row.live_room_id,
      audienceId: row.audience_id,
      amountFen: Number(row.amount),
      createdAtMs: createdAt.getTime(),
    }));
    const outcomes: Array<[RecordOutcome, number]> = [];
    const recorder = createBoardRecorder({
      redis: t.redis,
      store: createBoardStore(t.redis.client!),
      calendar: createPeriodCalendar(t.config.timeZone),
      clock,
      logger: createLogger('silent'),
      onOutcome: (outcome, count) => outcomes.push([outcome, count]),
    });

    for (const reward of rewards) recorder.record(reward);
    recorder.record(rewards[7]!); // the same reward again, in the same turn
    await waitUntil(() => Promise.resolve(outcomes.length > 0), 'the recorder to send the turn');
    await waitUntil(() => Promise.resolve(watch.calls.length >= 5), 'MONITOR to show the apply calls');

    expect(outcomes).toEqual([['sent', 601]]);
    const byScope = (scope: string) => watch.calls.filter((c) => c.scope === scope).map((c) => c.rewards);
    // 551 for the first room (the duplicate is of it): 500 + 51; 50 for the second; 601 for the platform: 500 + 101.
    expect(byScope(`room:{${roomIds[0]}}`)).toEqual([500, 51]);
    expect(byScope(`room:{${roomIds[1]}}`)).toEqual([50]);
    expect(byScope('viewers:{platform}')).toEqual([500, 101]);
    expect(watch.calls).toHaveLength(5); // was 1202: two calls per reward
    await pastCacheLifetime();
    await expectBoardsExact(t, roomIds);
    const all = await roomBoard(t, roomIds[0]!, 'all');
    expect(all.items.reduce((n, i) => n + i.rewardCount, 0)).toBe(550);
  });
});
