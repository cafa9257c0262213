import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { roomKeys } from '../../src/modules/anchor/realtime/realtime.redis';
import { createDb, type Db } from '../../src/shared/db/knex';
import { createTokenService } from '../../src/shared/http/auth';
import { parseAmountToFen } from '../../src/shared/money';
import { workerDatabaseUrl } from '../support/environment';
import { expectJson, fetchJson } from '../support/fetch-json';
import { Nginx, type AccessLine } from '../support/nginx';
import { TEST_JWT_SECRET } from '../support/platform';
import { distinctFreePorts, PrivateRedis, waitUntil } from '../support/private-redis';
import { instanceEnvironment, type LogEntry, NEVER, ServiceProcess } from '../support/service-process';

/**
 * The production shape, for real: the project's nginx.conf run by nginx in front of two instances
 * (`src/main.ts` processes) on one DB pair and one Redis of the test's own, every cron job scheduled
 * on both. Many clients reward through nginx, each retrying its reward (same traceId) until it gets
 * 201 or 200; mid-load one instance is SIGKILLed and later started again.
 */
const CLIENTS = 20;
const REWARDS_PER_CLIENT = 40;
const TOTAL = CLIENTS * REWARDS_PER_CLIENT;
const ROOMS = 5;
/** The kill strikes once this many rewards were answered (and the victim has stored some itself). */
const KILL_AFTER_ANSWERED = Math.floor(TOTAL * 0.35);
const KILL_AFTER_SAVED_BY_VICTIM = 20;
/** The subject: every room's public figures equal the reward table within this long of the last answer. */
const HEAL_LIMIT_MS = 10_000;
/** A client gives a reward up after this long (the test then fails naming it); far beyond any failover. */
const CLIENT_GIVE_UP_MS = 45_000;
/** Ticks each frequent job must have had for the once-per-tick check to mean something. */
const MIN_TICKS = 4;

/** Both instances' settings (no REDIS_KEY_PREFIX: the Redis is the test's own, its keys read as the code names them). */
const INSTANCE_ENV = instanceEnvironment({
  CRON_ENABLED: 'true',
  // node-cron's six fields: ticks every few seconds, so many happen during the test.
  SYNC_CRON: '*/3 * * * * *',
  SYNC_CLAIM_TTL_MS: '5000',
  REALTIME_FLUSH_CRON: '*/2 * * * * *',
  REALTIME_FLUSH_THRESHOLD: '25',
  // The heal jobs (the reward sweep and the realtime heal), named here so the test does not lean on the default.
  REALTIME_HEAL_CRON: '*/2 * * * * *',
  // Reconciliation repairs realtime figures itself: run often, it would hide what this test measures.
  RECONCILE_CRON: NEVER,
});

const tokens = createTokenService(TEST_JWT_SECRET);
let redis: PrivateRedis | undefined;
let redisClient: Redis | undefined;
let victim: ServiceProcess | undefined;
let survivor: ServiceProcess | undefined;
let nginx: Nginx | undefined;
let db1: Db | undefined;
let admin: string;
let service: string;
/** Set in afterAll: clients still retrying (a hook that timed out) give up instead of outliving the test. */
let tornDown = false;
/** The killed instance's restart: null once it listens again, else why it did not. */
let restarted: Promise<unknown> = Promise.resolve(new Error('the instance was never killed'));

beforeAll(async () => {
  redis = await PrivateRedis.start();
  redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const [victimPort, survivorPort] = (await distinctFreePorts(2)) as [number, number];
  const env = { ...INSTANCE_ENV, REDIS_URL: redis.url };
  [victim, survivor] = await Promise.all([
    ServiceProcess.start('instance A (killed mid-load)', victimPort, env),
    ServiceProcess.start('instance B', survivorPort, env),
  ]);
  nginx = await Nginx.start([victimPort, survivorPort]);
  db1 = createDb(workerDatabaseUrl('db1'), { poolMax: 2, acquireTimeoutMs: 5000 });
  admin = `Bearer ${await tokens.sign({ role: 'admin', id: 1 }, 3600)}`;
  service = `Bearer ${await tokens.sign({ role: 'service', id: 1 }, 3600)}`;
}, 90_000);

afterAll(async () => {
  tornDown = true;
  await Promise.allSettled([victim?.kill(), survivor?.kill(), nginx?.stop()]);
  redisClient?.disconnect();
  await Promise.allSettled([redis?.dispose(), db1?.destroy()]);
});

function edge(): Nginx {
  if (!nginx) throw new Error('nginx did not start');
  return nginx;
}

function database(): Db {
  if (!db1) throw new Error('no DB1 connection');
  return db1;
}

function instances(): [ServiceProcess, ServiceProcess] {
  if (!victim || !survivor) throw new Error('the instances did not start');
  return [victim, survivor];
}

describe('nginx.conf in front of two instances', () => {
  it('when internal endpoints and metrics are asked through nginx, then nginx answers 404 itself, while an instance has them', async () => {
    const [instance] = instances();
    for (const path of ['/anchor/api/v1/live-rooms/realtime/reward', '/finance/api/v1/recharge/batch-sync']) {
      const atEdge = await fetchJson<{ code: string }>(edge().url, 'POST', path, { auth: admin, body: {} });
      expect({ path, status: atEdge.status, code: atEdge.body.code }).toEqual({ path, status: 404, code: 'ROUTE_NOT_FOUND' });
      // The route exists on the instance: it refuses the admin (internal role only) instead of not knowing it.
      const direct = await fetchJson<{ code: string }>(instance.url, 'POST', path, { auth: admin, body: {} });
      expect({ path, status: direct.status }).toEqual({ path, status: 403 });
    }
    const metricsAtEdge = await fetchJson<{ code: string }>(edge().url, 'GET', '/actuator/prometheus');
    expect([metricsAtEdge.status, metricsAtEdge.body.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
    const metricsDirect = await fetchJson<string>(instance.url, 'GET', '/actuator/prometheus');
    expect(metricsDirect.status).toBe(200);
    expect(metricsDirect.body).toContain('recharge_requests_total');
    const health = await fetchJson<{ status: string }>(edge().url, 'GET', '/health');
    expect([health.status, health.body.status]).toEqual([200, 'UP']);
    // nginx logs a request after answering it: wait for the three lines, then none may name an instance.
    const privateLines = () =>
      edge()
        .accessLog()
        .filter((line) => /realtime\/reward|batch-sync|actuator/.test(line.path));
    await waitUntil(() => Promise.resolve(privateLines().length >= 3), 'the access log lines of the private routes');
    expect(privateLines().filter((line) => line.upstreams.length > 0)).toEqual([]);
  });

  describe(`when one instance is SIGKILLed while ${CLIENTS} clients reward through nginx, each retrying until answered`, () => {
    const runTag = `E2E-${process.pid}-${Date.now().toString(36)}`;
    const outcomes = new Map<string, RewardOutcome>();
    let roomIds: number[] = [];
    let killedAt = 0;
    let loadEndedAt = 0;
    let savedByVictimBeforeKill = 0;

    beforeAll(async () => {
      const stage = await createStage();
      roomIds = stage.roomIds;
      const plan = planRewards(runTag, stage);
      const [instance] = instances();
      const savedByVictim = () => instance.linesWith('reward saved').filter((entry) => entry.life === 0).length;
      const killer = (async () => {
        await waitUntil(
          () => Promise.resolve(outcomes.size >= KILL_AFTER_ANSWERED && savedByVictim() >= KILL_AFTER_SAVED_BY_VICTIM),
          'enough rewards to be answered before the kill',
          60_000,
        );
        killedAt = Date.now();
        await instance.kill();
        savedByVictimBeforeKill = savedByVictim();
        // Back while the load goes on: it takes part in the cron leases again (nginx skips it for fail_timeout).
        restarted = instance.restart().then(
          () => null,
          (error: unknown) => error,
        );
      })();
      await Promise.all([...plan.map((rewards) => rewardOneByOne(rewards, outcomes)), killer]);
      loadEndedAt = Math.max(...[...outcomes.values()].map((outcome) => outcome.answeredAt));
    }, 120_000);

    it('then every reward was answered, the killed instance had answered rewards before the kill, and the load went on after it', () => {
      expect(outcomes.size).toBe(TOTAL);
      expect([...outcomes.values()].filter((outcome) => outcome.status !== 201 && outcome.status !== 200)).toEqual([]);
      const [instance, other] = instances();
      const rewardLines = edge()
        .accessLog()
        .filter((line) => line.path === '/audience/api/v1/recharge' && outcomes.has(line.traceId));
      const answeredBy = (port: number) => rewardLines.filter((line) => line.status < 300 && finalUpstream(line) === port).length;
      const answeredAfterKill = [...outcomes.values()].filter((outcome) => outcome.answeredAt > killedAt).length;
      const retried = [...outcomes.values()].filter((outcome) => outcome.attempts.length > 1);
      process.stdout.write(
        `e2e nginx + 2 instances: rewards answered by the killed instance ${answeredBy(instance.port)} (it stored ${savedByVictimBeforeKill}), ` +
          `by the other ${answeredBy(other.port)}, ${answeredAfterKill} after the kill; ${retried.length} retried by their client ` +
          `(${retried.map((outcome) => outcome.attempts.join('>')).join(', ')}); ` +
          `nginx passed ${rewardLines.filter((line) => line.upstreams.length > 1).length} on to the other instance itself\n`,
      );
      // Proof the kill struck a serving instance: nginx passed it rewards it answered (it may have stored more than it answered).
      expect(answeredBy(instance.port)).toBeGreaterThanOrEqual(10);
      expect(answeredBy(instance.port)).toBeLessThanOrEqual(savedByVictimBeforeKill);
      expect(answeredBy(other.port)).toBeGreaterThanOrEqual(TOTAL * 0.3);
      expect(answeredAfterKill).toBeGreaterThanOrEqual(TOTAL * 0.3);
    });

    it('then every traceId is stored exactly once, under the id its answer named', async () => {
      const traceIds = [...outcomes.keys()];
      const stored: Array<{
        trace_id: string;
        n: number;
        id: number;
      }> = await database()('recharge')
        .whereIn('trace_id', traceIds)
        .groupBy('trace_id')
        .select('trace_id', database().raw('COUNT(*) AS n'), database().raw('MIN(id) AS id'));
      expect(stored).toHaveLength(TOTAL);
      expect(stored.filter((row) => Number(row.n) !== 1)).toEqual([]);
      const misnamed = stored.filter((row) => outcomes.get(row.trace_id)?.rechargeId !== Number(row.id));
      expect(misnamed).toEqual([]);
    });

    it(`then each room's public realtime figures equal the reward table within ${HEAL_LIMIT_MS / 1000} s of the last answer`, async () => {
      let last = await compareRooms(roomIds);
      while (last.drifted.length > 0 && Date.now() - loadEndedAt < HEAL_LIMIT_MS) {
        await new Promise((r) => setTimeout(r, 100));
        last = await compareRooms(roomIds);
      }
      const healedAfterMs = Date.now() - loadEndedAt;
      const replays = [...outcomes.values()].filter((outcome) => outcome.status === 200).length;
      process.stdout.write(
        `e2e nginx + 2 instances: ${TOTAL} rewards, ${replays} answered as a 200 replay, ` +
          `${last.drifted.length === 0 ? `figures exact ${(healedAfterMs / 1000).toFixed(1)} s after the last answer` : 'figures NOT exact'}\n`,
      );
      // On failure: each room's figures against the table, and the rewards no figure counts, with what their clients saw.
      const uncounted = last.drifted.length > 0 ? await uncountedRewards(roomIds, outcomes) : [];
      expect({ drifted: last.drifted, uncounted }).toEqual({ drifted: [], uncounted: [] });
      expect(healedAfterMs).toBeLessThanOrEqual(HEAL_LIMIT_MS);
    });
  });

  it('when every job is scheduled on both instances, then no job ran twice for one tick (the killed and restarted one included)', async () => {
    expect(await restarted).toBeNull();
    const [instance, other] = instances();
    const runs = () => [...jobRuns(instance), ...jobRuns(other)];
    const ticksOf = (job: string) =>
      new Set(
        runs()
          .filter((run) => run.job === job)
          .map((run) => run.tick),
      ).size;
    await waitUntil(
      () => Promise.resolve(ticksOf('realtime-flush') >= MIN_TICKS && ticksOf('finance-sync') >= MIN_TICKS),
      `${MIN_TICKS} ticks of realtime-flush and finance-sync`,
      30_000,
    );
    const byTick = new Map<string, JobRun[]>();
    for (const run of runs()) {
      const key = `${run.job} @ ${new Date(run.tick * 1000).toISOString()}`;
      byTick.set(key, [...(byTick.get(key) ?? []), run]);
    }
    const twice = [...byTick].filter(([, same]) => same.length > 1);
    const perInstance = new Map<string, number>();
    for (const run of runs()) perInstance.set(run.instance, (perInstance.get(run.instance) ?? 0) + 1);
    process.stdout.write(
      `e2e nginx + 2 instances: ${byTick.size} job ticks (realtime-flush ${ticksOf('realtime-flush')}, finance-sync ${ticksOf('finance-sync')}), ` +
        `runs by ${[...perInstance].map(([name, n]) => `${name}: ${n}`).join('; ')}, ${twice.length} ran twice\n`,
    );
    expect(twice).toEqual([]);
  });
});

interface Stage {
  roomIds: number[];
  viewerIds: number[];
}

/** Anchors, LIVE rooms and one viewer per client, made through nginx as an operator would. */
async function createStage(): Promise<Stage> {
  const roomIds: number[] = [];
  for (let i = 0; i < ROOMS; i += 1) {
    const { anchorId } = await expectJson<{ anchorId: number }>(201, edge().url, 'POST', '/anchor/api/v1/anchors', {
      auth: admin,
      body: { name: `E2E anchor ${i}` },
    });
    const { liveRoomId } = await expectJson<{ liveRoomId: number }>(201, edge().url, 'POST', '/anchor/api/v1/live-rooms', {
      auth: admin,
      body: { anchorId, title: `E2E room ${i}` },
    });
    await expectJson(200, edge().url, 'POST', `/anchor/api/v1/live-rooms/${liveRoomId}/start`, { auth: admin });
    roomIds.push(liveRoomId);
  }
  const viewerIds: number[] = [];
  for (let i = 0; i < CLIENTS; i += 1) {
    const { audienceId } = await expectJson<{ audienceId: number }>(201, edge().url, 'POST', '/audience/api/v1/audiences', {
      auth: admin,
      body: { nickname: `E2E viewer ${i}` },
    });
    viewerIds.push(audienceId);
  }
  return { roomIds, viewerIds };
}

interface PlannedReward {
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  amount: string;
}

/** Per client, its rewards in order: its own viewer, rooms in turn, amounts from 1.00 to 9.99. */
function planRewards(runTag: string, stage: Stage): PlannedReward[][] {
  return stage.viewerIds.map((audienceId, client) =>
    Array.from({ length: REWARDS_PER_CLIENT }, (_, i) => {
      const fen = 100 + ((client * 31 + i * 17) % 900);
      return {
        traceId: `${runTag}-${client}-${i}`,
        audienceId,
        liveRoomId: stage.roomIds[(client + i) % ROOMS]!,
        amount: (fen / 100).toFixed(2),
      };
    }),
  );
}

interface RewardOutcome {
  status: number;
  rechargeId: number;
  answeredAt: number;
  /** What each attempt got: a status, or `connection error`. */
  attempts: string[];
}

/** One client: its rewards one after another, each retried (same body, same traceId) until 201 or 200. */
async function rewardOneByOne(rewards: readonly PlannedReward[], outcomes: Map<string, RewardOutcome>): Promise<void> {
  for (const reward of rewards) {
    const attempts: string[] = [];
    const giveUpAt = Date.now() + CLIENT_GIVE_UP_MS;
    for (;;) {
      try {
        const answer = await fetchJson<{ rechargeId: number }>(edge().url, 'POST', '/audience/api/v1/recharge', {
          auth: service,
          body: reward,
          headers: { 'X-Trace-Id': reward.traceId },
          timeoutMs: 10_000,
        });
        attempts.push(String(answer.status));
        if (answer.status === 201 || answer.status === 200) {
          outcomes.set(reward.traceId, { status: answer.status, rechargeId: answer.body.rechargeId, answeredAt: Date.now(), attempts });
          break;
        }
      } catch {
        attempts.push('connection error');
      }
      if (Date.now() > giveUpAt || tornDown) throw new Error(`reward ${reward.traceId} never answered 201/200: ${attempts.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function finalUpstream(line: AccessLine): number | null {
  const last = line.upstreams.at(-1);
  return last ? Number(last.split(':').at(-1)) : null;
}

interface RoomComparison {
  liveRoomId: number;
  figures: { rechargeCount: number; earningsFen: number | null };
  table: { rechargeCount: number; earningsFen: number };
}

/** Each room's public figures (through nginx) next to its rewards in DB1; the rooms where they differ. */
async function compareRooms(roomIds: readonly number[]): Promise<{ drifted: RoomComparison[] }> {
  const rows: Array<{
    live_room_id: number;
    n: number;
    fen: string;
  }> = await database()('recharge')
    .whereIn('live_room_id', roomIds)
    .groupBy('live_room_id')
    .select('live_room_id', database().raw('COUNT(*) AS n'), database().raw('SUM(amount) AS fen'));
  const drifted: RoomComparison[] = [];
  for (const liveRoomId of roomIds) {
    const view = await expectJson<{ totalEarnings: string; rechargeCount: number }>(
      200,
      edge().url,
      'GET',
      `/anchor/api/v1/live-rooms/${liveRoomId}/realtime`,
    );
    const row = rows.find((r) => Number(r.live_room_id) === liveRoomId);
    const comparison = {
      liveRoomId,
      figures: { rechargeCount: view.rechargeCount, earningsFen: parseAmountToFen(view.totalEarnings) },
      table: { rechargeCount: Number(row?.n ?? 0), earningsFen: Number(row?.fen ?? 0) },
    };
    if (
      comparison.figures.rechargeCount !== comparison.table.rechargeCount ||
      comparison.figures.earningsFen !== comparison.table.earningsFen
    )
      drifted.push(comparison);
  }
  return { drifted };
}

/**
 * Stored rewards of the rooms that no figure counts: neither pending in Redis (nor being flushed)
 * nor journalled in DB1. Redis is read first: a flush moves an id from Redis into the journal, never back.
 */
async function uncountedRewards(roomIds: readonly number[], outcomes: ReadonlyMap<string, RewardOutcome>) {
  if (!redisClient) throw new Error('no Redis connection');
  const inRedis = new Set<number>();
  for (const room of roomIds)
    for (const key of [roomKeys(room).pendingIds, roomKeys(room).flushingIds])
      for (const id of await redisClient.hkeys(key)) inRedis.add(Number(id));
  const journalRows: Array<{ recharge_id: number }> = await database()('live_room_applied_reward')
    .whereIn('live_room_id', roomIds)
    .select('recharge_id');
  const journalled = new Set(journalRows.map((row) => Number(row.recharge_id)));
  const rows: Array<{
    id: number;
    trace_id: string;
    live_room_id: number;
    amount: number;
  }> = await database()('recharge').whereIn('live_room_id', roomIds).select('id', 'trace_id', 'live_room_id', 'amount');
  return rows
    .filter((row) => !inRedis.has(Number(row.id)) && !journalled.has(Number(row.id)))
    .map((row) => ({
      rechargeId: Number(row.id),
      traceId: row.trace_id,
      liveRoomId: Number(row.live_room_id),
      fen: Number(row.amount),
      answered: outcomes.get(row.trace_id)?.status,
      attempts: outcomes.get(row.trace_id)?.attempts,
    }));
}

interface JobRun {
  job: string;
  /** The fire (epoch seconds) the run belongs to. */
  tick: number;
  instance: string;
  traceId: string;
}

/** The runs an instance logged (`job finished` or `job failed`), each on the tick its `slot` names: the fire it was scheduled for. */
function jobRuns(instance: ServiceProcess): JobRun[] {
  return instance.entries.flatMap((entry: LogEntry) => {
    if (entry.line['msg'] !== 'job finished' && entry.line['msg'] !== 'job failed') return [];
    const job = String(entry.line['job']);
    const slot = Date.parse(String(entry.line['slot']));
    if (Number.isNaN(slot)) throw new Error(`a run of ${job} logged no slot: ${JSON.stringify(entry.line)}`);
    return [{ job, tick: slot / 1000, instance: `${instance.name}, life ${entry.life}`, traceId: String(entry.line['traceId']) }];
  });
}
