import { afterEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/shared/logger';
import type { ScheduledJob } from '../../src/shared/module';
import { createRedis, waitForRedis, type RedisHandle } from '../../src/shared/redis';
import { createRunLeases } from '../../src/shared/scheduler/run-lease';
import { createScheduler, type Scheduler } from '../../src/shared/scheduler/scheduler';
import { REDIS_KEY_PREFIX, workerRedisUrl } from '../support/environment';
import { PrivateRedis, waitUntil } from '../support/private-redis';

/**
 * The scheduler as it runs in every instance, two "instances" (two schedulers, each with a Redis
 * connection of its own) in this process, on real Redis, with six-field cron expressions firing
 * every second. The jobs are the test's own, so their length and what they saw are under its
 * control; test/e2e/scheduler-failover.test.ts runs the real jobs in two real processes.
 */
const EVERY_SECOND = '* * * * * *';
const COMMAND_TIMEOUT_MS = 150;

interface Instance {
  name: string;
  scheduler: Scheduler;
  redis: RedisHandle;
  lines: Array<Record<string, unknown>>;
}

/** A run as the job itself saw it. */
interface Run {
  job: string;
  instance: string;
  startedAt: number;
  endedAt: number | null;
}

const started: Instance[] = [];
const redisServers: PrivateRedis[] = [];
let runs: Run[] = [];
/** Runs of each job in progress right now, over every instance; and the most there ever were. */
const active = new Map<string, number>();
const mostActive = new Map<string, number>();

/** A job that records each run and lasts `ms`. */
function job(name: string, instance: string, ms: number, withoutLease: ScheduledJob['withoutLease']): ScheduledJob {
  return {
    name,
    schedule: EVERY_SECOND,
    withoutLease,
    async run() {
      const run: Run = { job: name, instance, startedAt: Date.now(), endedAt: null };
      runs.push(run);
      const now = (active.get(name) ?? 0) + 1;
      active.set(name, now);
      mostActive.set(name, Math.max(mostActive.get(name) ?? 0, now));
      await new Promise((r) => setTimeout(r, ms));
      active.set(name, (active.get(name) ?? 1) - 1);
      run.endedAt = Date.now();
    },
  };
}

async function startInstance(
  name: string,
  options: { redisUrl: string | null; keyPrefix: string; leaseMs: number; jobs: (instance: string) => ScheduledJob[] },
): Promise<Instance> {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('debug', { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const redis = createRedis({ url: options.redisUrl, keyPrefix: options.keyPrefix, commandTimeoutMs: COMMAND_TIMEOUT_MS, logger });
  if (redis.client) await waitForRedis(redis, 2000);
  const scheduler = createScheduler({ jobs: options.jobs(name), redis, logger, leaseMs: options.leaseMs });
  const instance = { name, scheduler, redis, lines };
  started.push(instance);
  scheduler.start();
  return instance;
}

/** Lines of every instance with this message (and job), each with the instance that wrote it. */
function linesWith(message: string, jobName?: string): Array<Record<string, unknown> & { instance: string }> {
  return started.flatMap((instance) =>
    instance.lines
      .filter((line) => line['msg'] === message && (jobName === undefined || line['job'] === jobName))
      .map((line) => ({ ...line, instance: instance.name })),
  );
}

/** `job started` lines of the job grouped by slot: slot -> the instances that started a run for it. */
function startsBySlot(jobName: string): Map<string, string[]> {
  const bySlot = new Map<string, string[]>();
  for (const line of linesWith('job started', jobName)) {
    const slot = String(line['slot']);
    bySlot.set(slot, [...(bySlot.get(slot) ?? []), line.instance]);
  }
  return bySlot;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let testNumber = 0;
/** A key prefix of this test alone on the worker's shared Redis, so no lease or tick of another run or test is seen. */
function freshPrefix(): string {
  testNumber += 1;
  return `${REDIS_KEY_PREFIX}sched-${process.pid}-${Date.now().toString(36)}-${testNumber}:`;
}

afterEach(async () => {
  for (const server of redisServers) server.thaw();
  await Promise.all(started.map((instance) => instance.scheduler.stop()));
  await Promise.all(started.map((instance) => instance.redis.close()));
  await Promise.all(redisServers.map((server) => server.dispose()));
  started.length = 0;
  redisServers.length = 0;
  runs = [];
  active.clear();
  mostActive.clear();
});

describe('two instances on one Redis', () => {
  it('when both schedule the same job every second, then each tick runs exactly once across them, logged with its slot', async () => {
    const options = {
      redisUrl: workerRedisUrl(),
      keyPrefix: freshPrefix(),
      leaseMs: 5000,
      jobs: (i: string) => [job('quick', i, 50, 'skip')],
    };
    await Promise.all([startInstance('A', options), startInstance('B', options)]);
    await sleep(5500);
    // Stopped before the counts (stop waits for runs in progress): a tick that fired just now must not
    // look like a run that never finished.
    await Promise.all(started.map((instance) => instance.scheduler.stop()));

    const bySlot = startsBySlot('quick');
    expect(bySlot.size).toBeGreaterThanOrEqual(4);
    expect([...bySlot].filter(([, instances]) => instances.length !== 1)).toEqual([]);
    // Each start belongs to its slot: it came after the scheduled second and well within it.
    for (const line of linesWith('job started', 'quick')) {
      const lateBy = Date.parse(String(line['time'])) - Date.parse(String(line['slot']));
      expect({ slot: line['slot'], lateByAtLeast0: lateBy >= 0, withinItsSecond: lateBy < 1000 }).toEqual({
        slot: line['slot'],
        lateByAtLeast0: true,
        withinItsSecond: true,
      });
    }
    // Every run that started finished, on the instance and for the slot it started on.
    const finished = linesWith('job finished', 'quick').map((line) => `${line.instance} ${String(line['slot'])}`);
    const startedRuns = linesWith('job started', 'quick').map((line) => `${line.instance} ${String(line['slot'])}`);
    expect(finished.sort()).toEqual(startedRuns.sort());
    expect(runs).toHaveLength(startedRuns.length);
    // The loser of each tick says so at debug level.
    expect(linesWith('job skipped', 'quick').filter((line) => line['reason'] === 'claimed by another instance')).toHaveLength(bySlot.size);
  }, 15_000);

  it('when a run takes 2.5 s at every second and the lease is 1 s, then the job never runs twice at once, here or on the other instance', async () => {
    const options = {
      redisUrl: workerRedisUrl(),
      keyPrefix: freshPrefix(),
      leaseMs: 1000,
      jobs: (i: string) => [job('slow', i, 2500, 'skip')],
    };
    await Promise.all([startInstance('A', options), startInstance('B', options)]);
    await sleep(8500);

    const completed = runs.filter((run) => run.endedAt !== null);
    expect(completed.length).toBeGreaterThanOrEqual(2);
    expect(mostActive.get('slow')).toBe(1);
    const ordered = [...runs].sort((a, b) => a.startedAt - b.startedAt);
    const overlapping = ordered.filter((run, i) => i > 0 && (ordered[i - 1]?.endedAt ?? Infinity) > run.startedAt);
    expect(overlapping).toEqual([]);
    // Both guards were met: the holder's own next ticks, and the other instance's.
    const reasons = [...new Set(linesWith('job skipped', 'slow').map((line) => line['reason']))];
    expect(reasons).toEqual(expect.arrayContaining(['still running here', 'still running on another instance']));
    // The lease outlived the run only because it was renewed: none was lost.
    expect(linesWith('run lease expired while the job still runs here: another instance may start it')).toEqual([]);
    expect([...startsBySlot('slow')].filter(([, instances]) => instances.length !== 1)).toEqual([]);
  }, 20_000);
});

describe('the run lease, claimed by hand', () => {
  const silent = createLogger('silent');
  const handles: RedisHandle[] = [];

  async function connection(keyPrefix: string): Promise<RedisHandle> {
    const redis = createRedis({ url: workerRedisUrl(), keyPrefix, commandTimeoutMs: COMMAND_TIMEOUT_MS, logger: silent });
    handles.push(redis);
    await waitForRedis(redis, 2000);
    return redis;
  }

  afterEach(async () => {
    await Promise.all(handles.splice(0).map((redis) => redis.close()));
  });

  it("when an instance's fire of a tick comes after another ran that tick to the end (their clocks apart), then it does not run it again", async () => {
    const prefix = freshPrefix();
    const a = createRunLeases({ redis: await connection(prefix), leaseMs: 5000, logger: silent });
    const b = createRunLeases({ redis: await connection(prefix), leaseMs: 5000, logger: silent });
    const slot = new Date('2030-01-01T00:00:00.000Z');
    const first = await a.claim('job', slot);
    expect(first.outcome).toBe('claimed');
    if (first.outcome === 'claimed') await first.lease.release();
    expect((await b.claim('job', slot)).outcome).toBe('taken');
    // The next tick is free for either.
    const next = await b.claim('job', new Date('2030-01-01T00:00:01.000Z'));
    expect(next.outcome).toBe('claimed');
    if (next.outcome === 'claimed') await next.lease.release();
  });

  it('when the holder stops renewing (its Redis connection gone, as if it died), then another instance claims the job within the lease', async () => {
    const prefix = freshPrefix();
    const holderRedis = await connection(prefix);
    const holder = createRunLeases({ redis: holderRedis, leaseMs: 1000, logger: silent });
    const other = createRunLeases({ redis: await connection(prefix), leaseMs: 1000, logger: silent });
    const held = await holder.claim('job', new Date('2030-01-01T00:00:00.000Z'));
    expect(held.outcome).toBe('claimed');
    holderRedis.client?.disconnect();
    const diedAt = Date.now();
    let second = 1;
    let claimed: Awaited<ReturnType<typeof other.claim>> | null = null;
    const outcomes: string[] = [];
    while (Date.now() - diedAt < 3000) {
      const claim = await other.claim('job', new Date(Date.UTC(2030, 0, 1, 0, 0, second)));
      outcomes.push(claim.outcome);
      if (claim.outcome === 'claimed') {
        claimed = claim;
        break;
      }
      second += 1;
      await sleep(100);
    }
    const tookOverAfter = Date.now() - diedAt;
    if (claimed?.outcome === 'claimed') await claimed.lease.release();
    // Stops the dead holder's renewal timer; its release cannot reach Redis.
    if (held.outcome === 'claimed') await held.lease.release();
    expect(outcomes[0]).toBe('busy');
    expect(outcomes.at(-1)).toBe('claimed');
    expect(tookOverAfter).toBeLessThanOrEqual(1000 + 200);
  });
});

describe('without Redis', () => {
  it('when no Redis is configured, then every instance runs every tick of every job (each decides alone)', async () => {
    const options = {
      redisUrl: null,
      keyPrefix: '',
      leaseMs: 5000,
      jobs: (i: string) => [job('runs-anyway', i, 20, 'run'), job('needs-redis', i, 20, 'skip')],
    };
    await Promise.all([startInstance('A', options), startInstance('B', options)]);
    await sleep(3500);
    for (const name of ['runs-anyway', 'needs-redis']) {
      const bySlot = startsBySlot(name);
      expect(bySlot.size).toBeGreaterThanOrEqual(3);
      expect([...bySlot].filter(([, instances]) => [...instances].sort().join() !== 'A,B')).toEqual([]);
    }
  }, 15_000);

  it('when the configured Redis is down, then a `run` job runs once per tick on each instance, a `skip` job not at all, and once Redis is back each runs once per tick', async () => {
    const server = await PrivateRedis.start();
    redisServers.push(server);
    const options = {
      redisUrl: server.url,
      keyPrefix: '',
      leaseMs: 5000,
      jobs: (i: string) => [job('runs-anyway', i, 20, 'run'), job('needs-redis', i, 20, 'skip')],
    };
    const [a, b] = await Promise.all([startInstance('A', options), startInstance('B', options)]);
    await server.kill();
    const downAt = Date.now();
    await sleep(3500);
    const upAt = Date.now();
    await server.restart();
    await waitUntil(() => Promise.resolve(a.redis.isUsable() && b.redis.isUsable()), 'both instances to reconnect', 10_000);
    const backAt = Date.now();
    await sleep(3500);

    const slotsBetween = (name: string, from: number, to: number) =>
      [...startsBySlot(name)].filter(([slot]) => Date.parse(slot) >= from && Date.parse(slot) < to);
    // Down: one run per instance and tick, every tick (the first second after the kill may still see the connection).
    const down = slotsBetween('runs-anyway', downAt + 1000, upAt);
    expect(down.length).toBeGreaterThanOrEqual(2);
    expect(down.filter(([, instances]) => [...instances].sort().join() !== 'A,B')).toEqual([]);
    expect(slotsBetween('needs-redis', downAt + 1000, upAt)).toEqual([]);
    expect(
      linesWith('job skipped', 'needs-redis').filter((line) => line['reason'] === 'redis does not answer').length,
    ).toBeGreaterThanOrEqual(4);
    // Back: once per tick again, for both jobs.
    for (const name of ['runs-anyway', 'needs-redis']) {
      const back = slotsBetween(name, backAt + 1000, Date.now());
      expect(back.length).toBeGreaterThanOrEqual(2);
      expect(back.filter(([, instances]) => instances.length !== 1)).toEqual([]);
    }
  }, 30_000);

  it('when Redis is frozen, then no tick waits past the command timeout: a `run` job runs once per tick on each instance, a `skip` job not at all, and after the thaw each runs once per tick at once', async () => {
    const server = await PrivateRedis.start();
    redisServers.push(server);
    // A lease far longer than the test: a claim Redis ran late, after the thaw, must not hold it.
    const options = {
      redisUrl: server.url,
      keyPrefix: '',
      leaseMs: 30_000,
      jobs: (i: string) => [job('runs-anyway', i, 20, 'run'), job('needs-redis', i, 20, 'skip')],
    };
    await Promise.all([startInstance('A', options), startInstance('B', options)]);
    await sleep(1200);
    server.freeze();
    const frozenAt = Date.now();
    await sleep(4000);
    server.thaw();
    const thawedAt = Date.now();
    await sleep(3500);

    const slotsBetween = (name: string, from: number, to: number) =>
      [...startsBySlot(name)].filter(([slot]) => Date.parse(slot) >= from && Date.parse(slot) < to);
    const frozen = slotsBetween('runs-anyway', frozenAt, thawedAt - 1000);
    expect(frozen.length).toBeGreaterThanOrEqual(3);
    expect(frozen.filter(([, instances]) => [...instances].sort().join() !== 'A,B')).toEqual([]);
    expect(slotsBetween('needs-redis', frozenAt, thawedAt - 1000)).toEqual([]);
    // No run waited for Redis longer than one command timeout (plus the machine's scheduling).
    const waited = linesWith('job started', 'runs-anyway')
      .filter((line) => Date.parse(String(line['slot'])) >= frozenAt)
      .map((line) => Date.parse(String(line['time'])) - Date.parse(String(line['slot'])));
    expect(Math.max(...waited)).toBeLessThan(COMMAND_TIMEOUT_MS + 500);
    // Thawed: from the next tick on, once per tick again (no claim made late holds the lease).
    for (const name of ['runs-anyway', 'needs-redis']) {
      const back = slotsBetween(name, thawedAt + 1000, Date.now());
      expect(back.length).toBeGreaterThanOrEqual(2);
      expect(back.filter(([, instances]) => instances.length !== 1)).toEqual([]);
    }
    // Nor does stopping wait for a frozen Redis.
    server.freeze();
    await sleep(1100);
    const stopping = Date.now();
    await Promise.all(started.map((instance) => instance.scheduler.stop()));
    expect(Date.now() - stopping).toBeLessThan(1000);
  }, 30_000);
});
