import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { roomKeys } from '../../src/modules/anchor/realtime/realtime.redis';
import { createDb, type Db } from '../../src/shared/db/knex';
import { createTokenService } from '../../src/shared/http/auth';
import { parseAmountToFen } from '../../src/shared/money';
import { workerDatabaseUrl } from '../support/environment';
import { expectJson, fetchJson, type JsonAnswer } from '../support/fetch-json';
import { TEST_JWT_SECRET } from '../support/platform';
import { freePort, PrivateRedis, waitUntil } from '../support/private-redis';
import { instanceEnvironment, NEVER, ServiceProcess } from '../support/service-process';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * Failpoints (src/shared/failpoints.ts) armed in a real service process, `src/main.ts`. Each test
 * starts a life of the process armed at one point, makes it reach the point, proves it struck
 * there — how the process ended or what it answered, the `failpoint …` line it wrote, and a state
 * only reachable at that point — then starts it again unarmed and checks the invariants: each
 * reward stored once, the room's figures = Σ its rewards within 10 s (the heal jobs run every 2 s,
 * REALTIME_HEAL_CRON's default), Σ settled = Σ rewards.
 */
const HEAL_LIMIT_MS = 10_000;
const REWARD = '/audience/api/v1/recharge';

const BASE_ENV = instanceEnvironment({
  // The heal jobs (reward sweep, realtime heal) keep their default schedule; the jobs that would
  // settle, flush or repair behind a test's back never fire.
  CRON_ENABLED: 'true',
  SYNC_CRON: NEVER,
  REALTIME_FLUSH_CRON: NEVER,
  RECONCILE_CRON: NEVER,
});
/** What a life may change; every start begins from these, so a life's arming never leaks into the next. */
const RESETTABLE = {
  FAILPOINTS: undefined,
  DB2_URL: BASE_ENV.DB2_URL,
  MODULE_CALL_TIMEOUT_MS: undefined,
  REALTIME_FLUSH_THRESHOLD: undefined,
};

const tokens = createTokenService(TEST_JWT_SECRET);
let redis: PrivateRedis | undefined;
let redisClient: Redis | undefined;
let instance: ServiceProcess | undefined;
let db1: Db | undefined;
let db2: Db | undefined;
let admin: string;
let service: string;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  instance = await ServiceProcess.start('instance', await freePort(), { ...BASE_ENV, REDIS_URL: redis.url });
  db1 = createDb(workerDatabaseUrl('db1'), { poolMax: 2, acquireTimeoutMs: 5000 });
  db2 = createDb(workerDatabaseUrl('db2'), { poolMax: 2, acquireTimeoutMs: 5000 });
  admin = `Bearer ${await tokens.sign({ role: 'admin', id: 1 }, 3600)}`;
  service = `Bearer ${await tokens.sign({ role: 'service', id: 1 }, 3600)}`;
}, 60_000);

afterAll(async () => {
  await instance?.kill();
  redisClient?.disconnect();
  await Promise.allSettled([redis?.dispose(), db1?.destroy(), db2?.destroy()]);
});

function svc(): ServiceProcess {
  if (!instance) throw new Error('the instance did not start');
  return instance;
}

function d1(): Db {
  if (!db1) throw new Error('no DB1 connection');
  return db1;
}

function d2(): Db {
  if (!db2) throw new Error('no DB2 connection');
  return db2;
}

function redisOf(): Redis {
  if (!redisClient) throw new Error('no Redis connection');
  return redisClient;
}

/** Ends the current life (SIGKILL) and starts the next with `changes` (e.g. FAILPOINTS); returns the new life's number. */
async function startLife(changes: Record<string, string | undefined> = {}): Promise<number> {
  await svc().kill();
  svc().setEnvironment({ ...RESETTABLE, ...changes });
  const life = svc().nextLife;
  await svc().restart();
  return life;
}

/** The failpoints that struck in that life, as `<name>: <action>`. */
function struckIn(life: number): string[] {
  return svc()
    .struck.filter((entry) => entry.life === life)
    .map((entry) => entry.failpoint);
}

interface Stage {
  anchorId: number;
  roomId: number;
  viewerIds: number[];
}

let stages = 0;
/** An anchor with a LIVE room and viewers, made through the current life as an operator would. */
async function liveStage(viewers = 1): Promise<Stage> {
  stages += 1;
  const base = svc().url;
  const { anchorId } = await expectJson<{ anchorId: number }>(201, base, 'POST', '/anchor/api/v1/anchors', {
    auth: admin,
    body: { name: `Failpoint anchor ${stages}` },
  });
  const { liveRoomId: roomId } = await expectJson<{ liveRoomId: number }>(201, base, 'POST', '/anchor/api/v1/live-rooms', {
    auth: admin,
    body: { anchorId, title: `Failpoint room ${stages}` },
  });
  await expectJson(200, base, 'POST', `/anchor/api/v1/live-rooms/${roomId}/start`, { auth: admin });
  const viewerIds: number[] = [];
  for (let i = 0; i < viewers; i += 1) {
    const { audienceId } = await expectJson<{ audienceId: number }>(201, base, 'POST', '/audience/api/v1/audiences', {
      auth: admin,
      body: { nickname: `Failpoint viewer ${stages}-${i}` },
    });
    viewerIds.push(audienceId);
  }
  return { anchorId, roomId, viewerIds };
}

interface RewardBody {
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  amount: string;
}

const runTag = `FP-${process.pid}-${Date.now().toString(36)}`;
let rewardsMade = 0;
function rewardFor(stage: Stage, index = 0): RewardBody {
  rewardsMade += 1;
  const fen = 101 + ((rewardsMade * 7919) % 9899);
  return {
    traceId: `${runTag}-${rewardsMade}`,
    audienceId: stage.viewerIds[index % stage.viewerIds.length]!,
    liveRoomId: stage.roomId,
    amount: (fen / 100).toFixed(2),
  };
}

/** Sends one reward; `no answer` when the connection died with the process. */
async function sendReward(body: RewardBody): Promise<JsonAnswer<{ rechargeId: number; code?: string }> | 'no answer'> {
  try {
    return await fetchJson<{ rechargeId: number; code?: string }>(svc().url, 'POST', REWARD, { auth: service, body, timeoutMs: 20_000 });
  } catch {
    return 'no answer';
  }
}

/** The id InnoDB hands the next reward: it moves when an INSERT ran, even one rolled back. */
async function nextRechargeId(): Promise<number> {
  const [rows] = (await d1().raw(
    "SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'recharge'",
  )) as [Array<{ next: number }>];
  return Number(rows[0]?.next);
}

async function storedIds(traceIds: readonly string[]): Promise<Map<string, number[]>> {
  const rows: Array<{ trace_id: string; id: number }> = await d1()('recharge').whereIn('trace_id', traceIds).select('trace_id', 'id');
  const ids = new Map<string, number[]>();
  for (const row of rows) ids.set(row.trace_id, [...(ids.get(row.trace_id) ?? []), Number(row.id)]);
  return ids;
}

async function consumption(audienceId: number): Promise<{ fen: number; count: number }> {
  const row: { total_amount: number; reward_count: number } = await d1()('audience').where({ id: audienceId }).first();
  return { fen: Number(row.total_amount), count: Number(row.reward_count) };
}

/** Whether the room has counted the reward anywhere: DB1's journal, or Redis's pending or flushing delta. */
async function roomCounted(roomId: number, rechargeId: number): Promise<boolean> {
  const journal = await d1()('live_room_applied_reward').where({ recharge_id: rechargeId }).first();
  const keys = roomKeys(roomId);
  const inRedis =
    (await redisOf().hexists(keys.pendingIds, String(rechargeId))) + (await redisOf().hexists(keys.flushingIds, String(rechargeId)));
  return journal !== undefined || inRedis > 0;
}

/** The room's public figures next to its rewards in DB1. */
async function compareRoom(roomId: number) {
  const row = await d1()('recharge').where({ live_room_id: roomId }).sum({ fen: 'amount' }).count({ n: '*' }).first();
  const view = await expectJson<{ totalEarnings: string; rechargeCount: number }>(
    200,
    svc().url,
    'GET',
    `/anchor/api/v1/live-rooms/${roomId}/realtime`,
  );
  return {
    figures: { count: view.rechargeCount, fen: parseAmountToFen(view.totalEarnings) },
    table: { count: Number(row?.['n']), fen: Number(row?.['fen'] ?? 0) },
  };
}

/** Waits until the room's public figures equal its rewards; fails past HEAL_LIMIT_MS; returns how long it took. */
async function figuresExact(roomId: number, since = Date.now()): Promise<number> {
  let last = await compareRoom(roomId);
  while (JSON.stringify(last.figures) !== JSON.stringify(last.table) && Date.now() - since < HEAL_LIMIT_MS) {
    await new Promise((r) => setTimeout(r, 100));
    last = await compareRoom(roomId);
  }
  expect(last.figures).toEqual(last.table);
  const tookMs = Date.now() - since;
  expect(tookMs).toBeLessThanOrEqual(HEAL_LIMIT_MS);
  return tookMs;
}

describe('a service process SIGKILLed at a failpoint of the reward path, then started again unarmed', () => {
  it.each(['reward.afterInsert', 'reward.beforeCommit'] as const)(
    'when %s=kill strikes, then it died there by SIGKILL with the INSERT run (its id taken) and nothing committed; started again, the retry is 201, stored and counted once',
    async (point) => {
      const stage = await liveStage();
      const life = await startLife({ FAILPOINTS: `${point}=kill` });
      const reward = rewardFor(stage);
      const idBefore = await nextRechargeId();

      expect(await sendReward(reward)).toBe('no answer');
      expect(await svc().exited()).toEqual({ code: null, signal: 'SIGKILL' });
      expect(struckIn(life)).toEqual([`${point}: kill`]);
      // Only inside the writer's transaction: the INSERT took an id, and the kill rolled the row back.
      expect(await nextRechargeId()).toBeGreaterThan(idBefore);
      expect(await storedIds([reward.traceId])).toEqual(new Map());
      expect(await consumption(reward.audienceId)).toEqual({ fen: 0, count: 0 });

      await startLife();
      const retry = await sendReward(reward);
      expect(retry === 'no answer' ? retry : retry.status).toBe(201);
      const stored = await storedIds([reward.traceId]);
      expect(stored.get(reward.traceId)).toHaveLength(1);
      expect(await consumption(reward.audienceId)).toEqual({ fen: parseAmountToFen(reward.amount), count: 1 });
      await figuresExact(stage.roomId);
    },
  );

  it('when reward.afterCommit=kill strikes, then the reward and its consumption are committed while its room has not counted it; started again, the retry is a 200 replay and the heal jobs count it within 10 s', async () => {
    const stage = await liveStage();
    const life = await startLife({ FAILPOINTS: 'reward.afterCommit=kill' });
    const reward = rewardFor(stage);

    expect(await sendReward(reward)).toBe('no answer');
    expect(await svc().exited()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(struckIn(life)).toEqual(['reward.afterCommit: kill']);
    // Only between the commit and the notification: stored, its viewer charged, its room unaware.
    const [rechargeId] = (await storedIds([reward.traceId])).get(reward.traceId) ?? [];
    expect(rechargeId).toBeDefined();
    expect(await consumption(reward.audienceId)).toEqual({ fen: parseAmountToFen(reward.amount), count: 1 });
    expect(await roomCounted(stage.roomId, Number(rechargeId))).toBe(false);

    const healLife = await startLife();
    const restartedAt = Date.now();
    const retry = await sendReward(reward);
    if (retry === 'no answer') throw new Error('the retry got no answer');
    expect([retry.status, retry.headers.get('idempotent-replayed'), retry.body.rechargeId]).toEqual([200, 'true', rechargeId]);
    const healedMs = await figuresExact(stage.roomId, restartedAt);
    // The replay counts nothing: the reward sweep did.
    expect(
      svc()
        .linesWith('reward sweep applied rewards their notification had missed')
        .filter((e) => e.life === healLife),
    ).not.toEqual([]);
    process.stdout.write(`failpoints e2e: reward.afterCommit kill healed ${(healedMs / 1000).toFixed(1)} s after the restart\n`);
    expect((await storedIds([reward.traceId])).get(reward.traceId)).toEqual([rechargeId]);
  });
});

describe('a service process whose background flush fails', () => {
  it('when flush.afterSnapshot=1*throw fails the threshold flush, then the delta stays in Redis as a snapshot (figures exact, DB1 untouched) and the next flush completes it: DB1 counts every reward once', async () => {
    const stage = await liveStage(2);
    const life = await startLife({ FAILPOINTS: 'flush.afterSnapshot=1*throw', REALTIME_FLUSH_THRESHOLD: '5' });
    for (let i = 0; i < 5; i += 1) expect(await sendReward(rewardFor(stage, i))).toMatchObject({ status: 201 });
    await waitUntil(
      () =>
        Promise.resolve(
          svc()
            .linesWith('realtime flush failed; the delta stays in Redis for the next one')
            .some((e) => e.life === life),
        ),
      'the background flush to fail',
    );
    expect(struckIn(life)).toEqual(['flush.afterSnapshot: throw']);
    const failed = svc()
      .linesWith('realtime flush failed; the delta stays in Redis for the next one')
      .filter((e) => e.life === life);
    expect(failed.map((e) => e.line['liveRoomId'])).toEqual([stage.roomId]);
    // Only after a snapshot that never reached DB1: Redis holds it aside, DB1 has not moved.
    expect(await redisOf().hget(roomKeys(stage.roomId).flushing, 'count')).toBe('5');
    expect(await d1()('live_room_realtime').where({ live_room_id: stage.roomId }).first()).toMatchObject({
      recharge_count: 0,
      last_flush_id: 0,
    });
    await figuresExact(stage.roomId);

    // Five more reach the threshold again: that flush finishes the snapshot left behind, then takes the new delta.
    for (let i = 0; i < 5; i += 1) expect(await sendReward(rewardFor(stage, i))).toMatchObject({ status: 201 });
    await waitUntil(
      async () => Number((await d1()('live_room_realtime').where({ live_room_id: stage.roomId }).first())?.recharge_count) === 10,
      'the next flush to fold all ten rewards into DB1',
    );
    const journal = await d1()('live_room_applied_reward').where({ live_room_id: stage.roomId }).count({ n: '*' }).first();
    expect(Number(journal?.['n'])).toBe(10);
    expect(await redisOf().exists(roomKeys(stage.roomId).flushing)).toBe(0);
    await figuresExact(stage.roomId);
  });
});

describe('a service process whose DB1 transaction fails after the INSERT', () => {
  it('when reward.beforeCommit=1*throw fails it, then the reward answers 503 problem+json and nothing is stored; the retry (the point spent) is 201, stored and counted once', async () => {
    const stage = await liveStage();
    const life = await startLife({ FAILPOINTS: 'reward.beforeCommit=1*throw' });
    const reward = rewardFor(stage);
    const idBefore = await nextRechargeId();

    const failed = await sendReward(reward);
    if (failed === 'no answer') throw new Error('the reward got no answer');
    expect([failed.status, failed.headers.get('content-type'), failed.body.code]).toEqual([
      503,
      expect.stringContaining('application/problem+json'),
      'DEPENDENCY_UNAVAILABLE',
    ]);
    expect(struckIn(life)).toEqual(['reward.beforeCommit: throw']);
    expect(await nextRechargeId()).toBeGreaterThan(idBefore);
    expect(await storedIds([reward.traceId])).toEqual(new Map());
    expect(await consumption(reward.audienceId)).toEqual({ fen: 0, count: 0 });

    const retry = await sendReward(reward);
    expect(retry === 'no answer' ? retry : retry.status).toBe(201);
    expect(svc().running).toBe(true);
    expect((await storedIds([reward.traceId])).get(reward.traceId)).toHaveLength(1);
    expect(await consumption(reward.audienceId)).toEqual({ fen: parseAmountToFen(reward.amount), count: 1 });
    await figuresExact(stage.roomId);
  });

  it('when reward.beforeCommit=1*throw fails one of the DB1 transactions of a 450-reward batch, then the whole request answers 503 problem+json; the retry replays what was stored (200, same ids) and stores the rest (201), none twice', async () => {
    const stage = await liveStage(5);
    const life = await startLife({ FAILPOINTS: 'reward.beforeCommit=1*throw' });
    // More than the writer's 200 per transaction: three transactions, the point fails the first to reach it.
    const items = Array.from({ length: 450 }, (_, i) => rewardFor(stage, i));
    const traceIds = items.map((item) => item.traceId);
    const batch = () =>
      fetchJson<{ code?: string; results?: Array<{ index: number; status: number; rechargeId?: number }> }>(
        svc().url,
        'POST',
        `${REWARD}/batch`,
        { auth: service, body: { items }, timeoutMs: 30_000 },
      );

    const failed = await batch();
    expect([failed.status, failed.headers.get('content-type'), failed.body.code]).toEqual([
      503,
      expect.stringContaining('application/problem+json'),
      'DEPENDENCY_UNAVAILABLE',
    ]);
    expect(struckIn(life)).toEqual(['reward.beforeCommit: throw']);
    // The other transaction in flight may commit after the answer: wait until nothing moves.
    let stored = await storedIds(traceIds);
    for (let quiet = 0; quiet < 3;) {
      await new Promise((r) => setTimeout(r, 200));
      const now = await storedIds(traceIds);
      quiet = now.size === stored.size ? quiet + 1 : 0;
      stored = now;
    }
    process.stdout.write(`failpoints e2e: the failed batch had stored ${stored.size} of ${items.length} rewards\n`);
    expect(stored.size).toBeGreaterThan(0);
    expect(stored.size).toBeLessThan(items.length);

    const retry = await batch();
    expect(retry.status).toBe(200);
    const results = retry.body.results ?? [];
    // Replayed: exactly the rewards stored before the retry, each under the id it was stored with.
    const replayed = new Map(results.filter((r) => r.status === 200).map((r) => [traceIds[r.index], r.rechargeId]));
    expect(replayed).toEqual(new Map([...stored].map(([traceId, ids]) => [traceId, ids[0]])));
    expect(results.filter((r) => r.status === 201)).toHaveLength(items.length - stored.size);
    const after = await storedIds(traceIds);
    expect(after.size).toBe(items.length);
    expect([...after.values()].filter((ids) => ids.length !== 1)).toEqual([]);
    const answeredIds = new Map(results.map((r) => [traceIds[r.index], r.rechargeId]));
    expect([...after].filter(([traceId, ids]) => answeredIds.get(traceId) !== ids[0])).toEqual([]);
    await figuresExact(stage.roomId);
  });
});

describe('a service process whose DB2 is cut mid-settlement', () => {
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    await proxy?.cut();
  });

  /** Our anchor's settled details, and its balance row (none when it never had one). */
  async function settledOf(anchorId: number) {
    const details = await d2()('settlement_detail')
      .where({ anchor_id: anchorId })
      .select(
        d2().raw(
          'COUNT(*) AS n, COUNT(DISTINCT recharge_id) AS distinct_n, COALESCE(SUM(amount), 0) AS fen, COALESCE(SUM(anchor_amount), 0) AS anchor_fen',
        ),
      );
    const row = details[0] as Record<string, number>;
    const balance: { available: number } | undefined = await d2()('anchor_balance').where({ anchor_id: anchorId }).first();
    return {
      n: Number(row['n']),
      distinct: Number(row['distinct_n']),
      fen: Number(row['fen']),
      anchorFen: Number(row['anchor_fen']),
      available: balance ? Number(balance.available) : null,
    };
  }

  /** Whether another transaction holds the anchor's balance row (NOWAIT: refused at once instead of waiting). */
  async function balanceLocked(anchorId: number): Promise<boolean> {
    return d2()
      .transaction(async (trx) => {
        await trx.raw('SELECT anchor_id FROM anchor_balance WHERE anchor_id = ? FOR UPDATE NOWAIT', [anchorId]);
      })
      .then(
        () => false,
        (error: unknown) => {
          if ((error as { errno?: number }).errno === 1205) return true;
          throw error;
        },
      );
  }

  it('when DB2 is cut while settlement.beforeCommit=hang holds the settlement open, then the sync answers 503, DB2 keeps none of it and the claim is given back; with DB2 back the next sync settles every reward once', async () => {
    // Whatever earlier tests left pending is settled first, so this sync is about our rewards alone.
    await expectJson(200, svc().url, 'POST', '/audience/api/v1/sync/trigger', { auth: admin, timeoutMs: 60_000 });
    const stage = await liveStage(3);
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
    const life = await startLife({
      FAILPOINTS: 'settlement.beforeCommit=1*hang',
      DB2_URL: workerDatabaseUrl('db2').replace(':3306/', `:${proxy.port}/`),
      MODULE_CALL_TIMEOUT_MS: '3000',
    });
    const items = Array.from({ length: 40 }, (_, i) => rewardFor(stage, i));
    const created = await expectJson<{ results: Array<{ status: number; rechargeId: number }> }>(
      200,
      svc().url,
      'POST',
      `${REWARD}/batch`,
      {
        auth: service,
        body: { items },
      },
    );
    expect(created.results.filter((r) => r.status !== 201)).toEqual([]);
    const ids = created.results.map((r) => r.rechargeId);
    const totalFen = items.reduce((sum, item) => sum + (parseAmountToFen(item.amount) ?? 0), 0);

    const trigger = fetchJson<{ code?: string }>(svc().url, 'POST', '/audience/api/v1/sync/trigger', { auth: admin, timeoutMs: 30_000 });
    await waitUntil(() => Promise.resolve(struckIn(life).length > 0), 'the settlement to reach settlement.beforeCommit');
    expect(struckIn(life)).toEqual(['settlement.beforeCommit: hang']);
    // Only inside the open settlement: its transaction holds the anchor's balance, nothing of it is visible.
    expect(await balanceLocked(stage.anchorId)).toBe(true);
    expect((await settledOf(stage.anchorId)).n).toBe(0);

    await proxy.cut();
    const answer = await trigger;
    expect([answer.status, answer.body.code]).toEqual([503, 'DEPENDENCY_UNAVAILABLE']);
    // MariaDB rolls the cut transaction back: the lock goes and none of it was kept.
    await waitUntil(async () => !(await balanceLocked(stage.anchorId)), 'MariaDB to roll the cut settlement back');
    expect(await settledOf(stage.anchorId)).toMatchObject({ n: 0, available: null });
    const states = await d1()('recharge').whereIn('id', ids).groupBy('sync_status').select('sync_status', d1().raw('COUNT(*) AS n'));
    expect(states.map((s: { sync_status: string; n: number }) => [s.sync_status, Number(s.n)])).toEqual([['PENDING', 40]]);

    await proxy.restore();
    const drained = await expectJson<{ synced: number; pending: number }>(200, svc().url, 'POST', '/audience/api/v1/sync/trigger', {
      auth: admin,
      timeoutMs: 60_000,
    });
    expect(drained.synced).toBeGreaterThanOrEqual(40);
    const synced = await d1()('recharge').whereIn('id', ids).where('sync_status', 'SYNCED').count({ n: '*' }).first();
    expect(Number(synced?.['n'])).toBe(40);
    // Default rate 0.5000: the anchor's share is floor(amount / 2) of each reward, credited once.
    const shares = items.reduce((sum, item) => sum + Math.floor((parseAmountToFen(item.amount) ?? 0) / 2), 0);
    expect(await settledOf(stage.anchorId)).toEqual({ n: 40, distinct: 40, fen: totalFen, anchorFen: shares, available: shares });
  });
});
