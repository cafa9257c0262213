import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Gauge } from 'prom-client';
import { createDb, type Db } from '../../src/shared/db/knex';
import { workerDatabaseUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { waitUntil } from '../support/private-redis';
import { TcpProxy } from '../support/tcp-proxy';

const DB_ACQUIRE_TIMEOUT_MS = 800;
const DB_QUERY_TIMEOUT_MS = 1000;
const ANCHOR_CALL_TIMEOUT_MS = 500;
const REWARD_QUEUE_MAX = 16;
/**
 * What the writer guarantees with DB1 hung (reward-writer.ts): an answer within one connection wait
 * plus one unanswered statement of arriving or of the hang beginning, and a reward stored just
 * before the hang still waits for its anchor notification. A read needs one wait and one statement.
 */
const GUARANTEE_MS = DB_ACQUIRE_TIMEOUT_MS + DB_QUERY_TIMEOUT_MS + ANCHOR_CALL_TIMEOUT_MS;
/** Scheduling noise on a shared 2-core machine, this test's own GC pauses included. */
const SLACK_MS = 1000;
/** A request without an answer by then counts as hung (and the test does not wait for it). */
const CLIENT_GIVE_UP_MS = 10_000;

const CLIENTS = 48;
const READERS = 4;
const VIEWERS = 8;
/** DB1 stays frozen at least this long, and until MIN_SHED_BETWEEN_HEAP_SAMPLES were shed (the machine's speed varies). */
const FROZEN_AT_LEAST_MS = 4000;
const FIRST_HEAP_SAMPLE_AFTER_MS = 1000;
const MIN_SHED_BETWEEN_HEAP_SAMPLES = 2000;
/** How long the load may take to shed them: about 3 s on an idle 2-core machine. */
const SHED_WAIT_MS = 40_000;
/** Heap growth allowed across the shed requests; one retained request is about 13 kB, so 2000 of them would be 26 MB. */
const HEAP_GROWTH_LIMIT_BYTES = 16 * 1024 * 1024;

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function heapUsedAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface RewardBody {
  traceId: string;
  audienceId: number;
  liveRoomId: number;
  amount: string;
}

interface Answer {
  kind: 'reward' | 'read';
  status: number;
  startedAt: number;
  answeredAt: number;
  contentType: string | null;
  retryAfter: string | null;
  code: string | undefined;
  reward: RewardBody | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fenOf = (amount: string) => Math.round(Number(amount) * 100);

/** One HTTP call, always answered here: a request that got nothing back within CLIENT_GIVE_UP_MS is status 0. */
async function call(url: string, init: RequestInit, kind: Answer['kind'], reward?: RewardBody): Promise<Answer> {
  const startedAt = Date.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(CLIENT_GIVE_UP_MS) });
    const text = await res.text();
    const code = res.status >= 400 ? (JSON.parse(text) as { code?: string }).code : undefined;
    return {
      kind,
      status: res.status,
      startedAt,
      answeredAt: Date.now(),
      contentType: res.headers.get('content-type'),
      retryAfter: res.headers.get('retry-after'),
      code,
      reward,
    };
  } catch {
    return { kind, status: 0, startedAt, answeredAt: Date.now(), contentType: null, retryAfter: null, code: undefined, reward };
  }
}

/** DB1 reached through a proxy the test freezes: a database that neither answers nor refuses. */
describe('rewards while DB1 hangs', () => {
  let proxy: TcpProxy;
  let t: TestPlatform;
  let direct: Db;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
    t = await createTestPlatform({
      DB1_URL: workerDatabaseUrl('db1').replace(':3306/', `:${proxy.port}/`),
      DB_ACQUIRE_TIMEOUT_MS: String(DB_ACQUIRE_TIMEOUT_MS),
      DB_QUERY_TIMEOUT_MS: String(DB_QUERY_TIMEOUT_MS),
      ANCHOR_CALL_TIMEOUT_MS: String(ANCHOR_CALL_TIMEOUT_MS),
      REWARD_QUEUE_MAX: String(REWARD_QUEUE_MAX),
    });
    direct = createDb(workerDatabaseUrl('db1'), { poolMax: 2, acquireTimeoutMs: 5000 });
    server = await new Promise<Server>((resolve) => {
      const listening = t.app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    proxy.thaw();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await Promise.all([t.close(), direct.destroy()]);
    await proxy.cut();
  });

  async function queueMetric(name: string): Promise<Array<{ value: number; labels: Partial<Record<string, string | number>> }>> {
    const metric = t.metrics.registry.getSingleMetric(name);
    return metric ? (await metric.get()).values : [];
  }

  /** Concurrent clients, each sending one request after the other until stopped; a few read a viewer instead. */
  function startLoad(auth: string, stage: { roomId: number; viewerIds: number[] }, answers: Answer[]) {
    let running = true;
    const headers = { Authorization: auth, 'Content-Type': 'application/json' };
    const rewardOnce = async (client: number, n: number) => {
      const amountFen = 1 + ((client * 7919 + n * 104729) % 99_999);
      const reward = {
        traceId: newTraceId('FRZ'),
        audienceId: stage.viewerIds[(client + n) % VIEWERS] as number,
        liveRoomId: stage.roomId,
        amount: (amountFen / 100).toFixed(2),
      };
      const answer = await call(
        `${base}/audience/api/v1/recharge`,
        { method: 'POST', headers, body: JSON.stringify(reward) },
        'reward',
        reward,
      );
      answers.push(answer);
      // A shed reward comes back at once; a short pause keeps the volume in thousands, not hundreds of thousands.
      if (answer.status === 503) await sleep(2);
    };
    const readOnce = async (client: number, n: number) => {
      answers.push(await call(`${base}/audience/api/v1/audiences/${stage.viewerIds[(client + n) % VIEWERS]}`, { headers }, 'read'));
      await sleep(50);
    };
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      for (let n = 0; running; n += 1) await (client < READERS ? readOnce(client, n) : rewardOnce(client, n));
    });
    return {
      stop: async () => {
        running = false;
        await Promise.all(clients);
      },
      /** Stops sending without waiting: on a failure, so no client loop outlives this file in the jest process. */
      halt: () => {
        running = false;
      },
    };
  }

  /** Every depth the writer reports (it sets the gauge on each change), not a sample: the deepest it ever was. */
  function watchQueueDepth() {
    const gauge = t.metrics.registry.getSingleMetric('reward_queue_depth') as Gauge;
    const set = gauge.set.bind(gauge);
    let deepest = 0;
    gauge.set = ((value: number) => {
      deepest = Math.max(deepest, value);
      set(value);
    }) as Gauge['set'];
    return {
      stop: () => {
        gauge.set = set;
        return deepest;
      },
    };
  }

  async function retryUntilStored(reward: RewardBody, auth: string): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const answer = await call(
        `${base}/audience/api/v1/recharge`,
        { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: JSON.stringify(reward) },
        'reward',
        reward,
      );
      if (answer.status !== 503) return answer.status;
      await sleep(50);
    }
    return 503;
  }

  interface FrozenRun {
    answers: Answer[];
    frozenAt: number;
    storedBeforeFreeze: number;
    healthWhileFrozen: number;
    heapGrowth: number;
    shedBetweenHeapSamples: number;
    deepestQueue: number;
    shedByReason: Record<string, number>;
  }

  /** Load from the start; DB1 frozen once a reward is stored; the heap sampled in the frozen steady state and after the load. */
  async function loadThroughFreeze(auth: string, stage: { roomId: number; viewerIds: number[] }): Promise<FrozenRun> {
    const answers: Answer[] = [];
    const shedSoFar = () => answers.filter((a) => a.status === 503).length;
    const queueDepth = watchQueueDepth();
    const load = startLoad(auth, stage, answers);
    try {
      return await throughFreeze(answers, load, queueDepth, shedSoFar);
    } catch (error) {
      load.halt();
      queueDepth.stop();
      throw error;
    }
  }

  async function throughFreeze(
    answers: Answer[],
    load: ReturnType<typeof startLoad>,
    queueDepth: ReturnType<typeof watchQueueDepth>,
    shedSoFar: () => number,
  ): Promise<FrozenRun> {
    const answered = (kind: Answer['kind'], status: number) => answers.some((a) => a.kind === kind && a.status === status);
    await waitUntil(
      () => Promise.resolve(answered('reward', 201) && answered('read', 200)),
      'a reward stored and a viewer read before the freeze',
    );
    const storedBeforeFreeze = answers.filter((a) => a.status === 201).length;
    const frozenAt = Date.now();
    proxy.freeze();
    await sleep(FIRST_HEAP_SAMPLE_AFTER_MS);
    const healthWhileFrozen = (await fetch(`${base}/audience/actuator/health`)).status;
    const heapBefore = heapUsedAfterGc();
    const shedAtFirstSample = shedSoFar();
    const enoughShed = () => shedSoFar() - shedAtFirstSample >= MIN_SHED_BETWEEN_HEAP_SAMPLES;
    await waitUntil(() => Promise.resolve(enoughShed()), 'thousands of shed rewards', SHED_WAIT_MS).catch((error: Error) => {
      throw new Error(`${error.message}: ${shedSoFar() - shedAtFirstSample} shed in ${SHED_WAIT_MS} ms`);
    });
    await sleep(frozenAt + FROZEN_AT_LEAST_MS - Date.now());
    await load.stop();
    const heapAfter = heapUsedAfterGc();
    const shedByReason = Object.fromEntries(
      (await queueMetric('reward_queue_shed_total')).map((v) => [String(v.labels['reason']), v.value]),
    );
    return {
      answers,
      frozenAt,
      storedBeforeFreeze,
      healthWhileFrozen,
      heapGrowth: heapAfter - heapBefore,
      shedBetweenHeapSamples: shedSoFar() - shedAtFirstSample,
      deepestQueue: queueDepth.stop(),
      shedByReason,
    };
  }

  /** Sends every reward again with its traceId, a few at a time, until each is answered otherwise than 503. */
  async function retryEach(rewards: RewardBody[], auth: string): Promise<number[]> {
    const statuses: number[] = [];
    const workers = Array.from({ length: REWARD_QUEUE_MAX }, async (_, worker) => {
      for (let i = worker; i < rewards.length; i += REWARD_QUEUE_MAX) statuses.push(await retryUntilStored(rewards[i] as RewardBody, auth));
    });
    await Promise.all(workers);
    return statuses;
  }

  async function storedRows(roomId: number): Promise<Array<{ trace_id: string; audience_id: number; amount: number }>> {
    return direct('recharge').where({ live_room_id: roomId }).select('trace_id', 'audience_id', 'amount');
  }

  it('when DB1 freezes under load, then every request is answered within the bound, shed rewards are 503 with Retry-After, the queue and the heap stay bounded, and after the thaw every retried reward is stored exactly once', async () => {
    const stage = await liveStage(t, VIEWERS);
    const auth = await t.auth('service');
    const run = await loadThroughFreeze(auth, stage);
    const { answers, shedByReason } = run;

    // Every request answered, each within the guarantee counted from its start or from the freeze.
    const worstMs = Math.max(...answers.map((a) => a.answeredAt - Math.max(a.startedAt, run.frozenAt)));
    const summary = { requests: answers.length, worstMs, ...run, answers: undefined };
    expect(answers.filter((a) => a.status === 0)).toEqual([]);
    expect({ ...summary, withinBound: worstMs <= GUARANTEE_MS + SLACK_MS }).toMatchObject({ withinBound: true });

    // Answers: 201 (stored before the freeze) or 503 problem+json DEPENDENCY_UNAVAILABLE with Retry-After; reads 200 or the same 503.
    const rewards = answers.filter((a) => a.kind === 'reward');
    expect(run.storedBeforeFreeze).toBeGreaterThan(0);
    expect(new Set(rewards.map((a) => a.status))).toEqual(new Set([201, 503]));
    expect(new Set(answers.filter((a) => a.kind === 'read').map((a) => a.status))).toEqual(new Set([200, 503]));
    for (const shed of answers.filter((a) => a.status === 503)) {
      expect(shed).toMatchObject({
        code: 'DEPENDENCY_UNAVAILABLE',
        retryAfter: '5',
        contentType: expect.stringMatching(/^application\/problem\+json/),
      });
    }
    expect(run.healthWhileFrozen).toBe(503);

    // The queue filled to its bound and no further; the heap did not keep the thousands of shed requests.
    expect(run.deepestQueue).toBeLessThanOrEqual(REWARD_QUEUE_MAX);
    expect(shedByReason['queue_full']).toBeGreaterThan(0);
    expect(shedByReason['db_unavailable']).toBeGreaterThan(0);
    expect(run.shedBetweenHeapSamples).toBeGreaterThanOrEqual(MIN_SHED_BETWEEN_HEAP_SAMPLES);
    expect({ ...summary, heapFlat: run.heapGrowth < HEAP_GROWTH_LIMIT_BYTES }).toMatchObject({ heapFlat: true });

    proxy.thaw();
    await waitUntil(async () => (await fetch(`${base}/audience/actuator/health`)).status === 200, 'health UP after the thaw', 10_000);
    const health = await (await fetch(`${base}/audience/actuator/health`)).json();
    expect(health).toMatchObject({ status: 'UP', components: { db1: { status: 'UP' } } });

    // Retried with its traceId, each 503'd reward is 201, or 200 when its COMMIT had reached the server after all.
    const retried = await retryEach(
      rewards.filter((a) => a.status === 503).map((a) => a.reward as RewardBody),
      auth,
    );
    expect(retried.filter((status) => status !== 201 && status !== 200)).toEqual([]);

    // Exactly once, counted in DB1 directly (not through the proxy), with the amounts sent.
    const sent = new Map(rewards.map((a) => [a.reward!.traceId, a.reward!]));
    const rows = await storedRows(stage.roomId);
    const rowsPerTrace = new Map<string, number>();
    for (const row of rows) rowsPerTrace.set(row.trace_id, (rowsPerTrace.get(row.trace_id) ?? 0) + 1);
    expect(rows.length).toBe(sent.size);
    expect([...sent.keys()].filter((traceId) => rowsPerTrace.get(traceId) !== 1)).toEqual([]);
    expect(rows.filter((row) => row.amount !== fenOf(sent.get(row.trace_id)!.amount))).toEqual([]);

    // Each viewer's consumption is the sum of its stored rewards, to the fen.
    const viewers = await direct<{ id: number; total_amount: number; reward_count: number }>('audience')
      .whereIn('id', stage.viewerIds)
      .select('id', 'total_amount', 'reward_count');
    expect(viewers.map((v) => ({ id: v.id, totalAmount: v.total_amount, rewardCount: v.reward_count }))).toEqual(
      viewers.map((v) => {
        const own = rows.filter((row) => row.audience_id === v.id);
        return { id: v.id, totalAmount: own.reduce((sum, row) => sum + row.amount, 0), rewardCount: own.length };
      }),
    );
  }, 90_000);
});
