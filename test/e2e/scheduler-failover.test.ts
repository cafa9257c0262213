import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDb, type Db } from '../../src/shared/db/knex';
import { createTokenService } from '../../src/shared/http/auth';
import { workerDatabaseUrl } from '../support/environment';
import { expectJson } from '../support/fetch-json';
import { TEST_JWT_SECRET } from '../support/platform';
import { distinctFreePorts, freePort, PrivateRedis, waitUntil } from '../support/private-redis';
import { instanceEnvironment, type LogEntry, ServiceProcess } from '../support/service-process';

/**
 * The scheduler in two real instances (`src/main.ts` processes) on one DB pair and a Redis of the
 * test's own, every job every second or two. The finance sync gets a backlog that takes one run
 * several seconds (small batches), so the run outlives many ticks: the other instance must skip
 * them. The instance running it is SIGKILLed mid-run: its lease, no longer renewed, expires, and
 * the other instance must take the job over within the lease plus one tick.
 */
const REWARDS = 2000;
const BATCH_SIZE = 10;
const LEASE_MS = 2000;
const SYNC_EVERY_MS = 1000;
/** The subject: from the kill until the other instance starts the sync. */
const FAILOVER_BOUND_MS = LEASE_MS + SYNC_EVERY_MS + 1000;
/** The holder is killed once its run has lasted this long (it outlived its tick). */
const KILL_AFTER_RUNNING_MS = 1500;
const VIEWERS = 10;

const BASE_ENV = instanceEnvironment();

const CRON_ENV = {
  ...BASE_ENV,
  CRON_ENABLED: 'true',
  CRON_LEASE_MS: String(LEASE_MS),
  SYNC_CRON: '* * * * * *',
  SYNC_BATCH_SIZE: String(BATCH_SIZE),
  // The killed holder's claimed batch is claimed again this long after.
  SYNC_CLAIM_TTL_MS: '3000',
  REALTIME_FLUSH_CRON: '* * * * * *',
  REALTIME_HEAL_CRON: '*/2 * * * * *',
  RECONCILE_CRON: '*/5 * * * * *',
};

const tokens = createTokenService(TEST_JWT_SECRET);
let redis: PrivateRedis | undefined;
let instances: ServiceProcess[] = [];
let db1: Db | undefined;
let db2: Db | undefined;

afterAll(async () => {
  await Promise.allSettled(instances.map((instance) => instance.kill()));
  await Promise.allSettled([redis?.dispose(), db1?.destroy(), db2?.destroy()]);
});

function databases(): { db1: Db; db2: Db } {
  if (!db1 || !db2) throw new Error('no database connections');
  return { db1, db2 };
}

/** A run as an instance logged it: its job, slot, when it started, and when it finished (null: never, it was killed). */
interface LoggedRun {
  instance: string;
  life: number;
  job: string;
  slot: string;
  startedAt: number;
  finishedAt: number | null;
}

function loggedRuns(instance: ServiceProcess): LoggedRun[] {
  const time = (entry: LogEntry) => Date.parse(String(entry.line['time']));
  const ends = instance.entries.filter((entry) => entry.line['msg'] === 'job finished' || entry.line['msg'] === 'job failed');
  return instance.linesWith('job started').map((start) => {
    const end = ends.find(
      (entry) => entry.life === start.life && entry.line['job'] === start.line['job'] && entry.line['slot'] === start.line['slot'],
    );
    return {
      instance: instance.name,
      life: start.life,
      job: String(start.line['job']),
      slot: String(start.line['slot']),
      startedAt: time(start),
      finishedAt: end ? time(end) : null,
    };
  });
}

/** Anchors with LIVE rooms, viewers and REWARDS rewards through `base`; the rewards' ids. */
async function stageRewards(base: string): Promise<number[]> {
  const admin = `Bearer ${await tokens.sign({ role: 'admin', id: 1 }, 3600)}`;
  const roomIds: number[] = [];
  for (let i = 0; i < 2; i += 1) {
    const { anchorId } = await expectJson<{ anchorId: number }>(201, base, 'POST', '/anchor/api/v1/anchors', {
      auth: admin,
      body: { name: `Failover anchor ${i}` },
    });
    const { liveRoomId } = await expectJson<{ liveRoomId: number }>(201, base, 'POST', '/anchor/api/v1/live-rooms', {
      auth: admin,
      body: { anchorId, title: `Failover room ${i}` },
    });
    await expectJson(200, base, 'POST', `/anchor/api/v1/live-rooms/${liveRoomId}/start`, { auth: admin });
    roomIds.push(liveRoomId);
  }
  const viewerIds: number[] = [];
  for (let i = 0; i < VIEWERS; i += 1) {
    const { audienceId } = await expectJson<{ audienceId: number }>(201, base, 'POST', '/audience/api/v1/audiences', {
      auth: admin,
      body: { nickname: `Failover viewer ${i}` },
    });
    viewerIds.push(audienceId);
  }
  const runTag = `E2E-FAILOVER-${process.pid}-${Date.now().toString(36)}`;
  const ids: number[] = [];
  for (let start = 0; start < REWARDS; start += 500) {
    const items = Array.from({ length: Math.min(500, REWARDS - start) }, (_, k) => ({
      traceId: `${runTag}-${start + k}`,
      audienceId: viewerIds[(start + k) % VIEWERS],
      liveRoomId: roomIds[(start + k) % roomIds.length],
      amount: '1.00',
    }));
    const { results } = await expectJson<{ results: Array<{ status: number; rechargeId: number }> }>(
      200,
      base,
      'POST',
      '/audience/api/v1/recharge/batch',
      { auth: admin, body: { items }, timeoutMs: 60_000 },
    );
    expect(results.filter((result) => result.status !== 201)).toEqual([]);
    ids.push(...results.map((result) => result.rechargeId));
  }
  return ids;
}

async function syncedAmong(ids: readonly number[]): Promise<number> {
  const row = await databases().db1('recharge').whereIn('id', ids).where({ sync_status: 'SYNCED' }).count({ n: '*' }).first();
  return Number(row?.['n']);
}

describe('the scheduler in two real instances, the one running a long finance sync SIGKILLed', () => {
  let rechargeIds: number[] = [];
  let holder: ServiceProcess;
  let survivor: ServiceProcess;
  let holderRun: LoggedRun;
  let killedAt = 0;
  let syncedAtKill = 0;
  let takeover: LoggedRun | undefined;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    db1 = createDb(workerDatabaseUrl('db1'), { poolMax: 2, acquireTimeoutMs: 5000 });
    db2 = createDb(workerDatabaseUrl('db2'), { poolMax: 2, acquireTimeoutMs: 5000 });
    // The backlog is stored before any scheduler runs, so one sync run meets all of it.
    const stager = await ServiceProcess.start('stager', await freePort(), { ...BASE_ENV, REDIS_URL: redis.url, CRON_ENABLED: 'false' });
    instances.push(stager);
    rechargeIds = await stageRewards(stager.url);
    await stager.kill();
    const [first, second] = (await distinctFreePorts(2)) as [number, number];
    instances = await Promise.all([
      ServiceProcess.start('instance A', first, { ...CRON_ENV, REDIS_URL: redis.url }),
      ServiceProcess.start('instance B', second, { ...CRON_ENV, REDIS_URL: redis.url }),
    ]);
    const longRun = (): { run: LoggedRun; holder: ServiceProcess; other: ServiceProcess } | null => {
      for (const [self, other] of [instances, [...instances].reverse()] as Array<[ServiceProcess, ServiceProcess]>) {
        const run = loggedRuns(self).find(
          (r) => r.job === 'finance-sync' && r.finishedAt === null && Date.now() - r.startedAt >= KILL_AFTER_RUNNING_MS,
        );
        if (run) return { run, holder: self, other };
      }
      return null;
    };
    await waitUntil(() => Promise.resolve(longRun() !== null), `a finance sync run lasting ${KILL_AFTER_RUNNING_MS} ms`, 30_000);
    const found = longRun();
    if (!found) throw new Error('the long run vanished');
    ({ run: holderRun, holder, other: survivor } = found);
    killedAt = Date.now();
    await holder.kill();
    syncedAtKill = await syncedAmong(rechargeIds);
    const takeoverRun = () => loggedRuns(survivor).find((run) => run.job === 'finance-sync' && run.startedAt > killedAt);
    await waitUntil(() => Promise.resolve(takeoverRun() !== undefined), 'the other instance to start the sync', 20_000);
    takeover = takeoverRun();
  }, 120_000);

  it('then the kill struck a run that had outlived its ticks, while the other instance skipped them for it', () => {
    const skippedForIt = survivor
      .linesWith('job skipped')
      .filter(
        (entry) =>
          entry.line['job'] === 'finance-sync' &&
          entry.line['reason'] === 'still running on another instance' &&
          Date.parse(String(entry.line['time'])) > holderRun.startedAt,
      );
    process.stdout.write(
      `e2e scheduler: ${holder.name} ran the sync from ${new Date(holderRun.startedAt).toISOString()} (slot ${holderRun.slot}) for ` +
        `${killedAt - holderRun.startedAt} ms until SIGKILL, ${syncedAtKill} of ${REWARDS} synced then; ${survivor.name} skipped ` +
        `${skippedForIt.length} ticks for it\n`,
    );
    expect(syncedAtKill).toBeGreaterThan(0);
    expect(syncedAtKill).toBeLessThan(REWARDS);
    expect(skippedForIt.length).toBeGreaterThanOrEqual(1);
    // Nor did the other instance start the sync while the holder ran it.
    expect(
      loggedRuns(survivor).filter((run) => run.job === 'finance-sync' && run.startedAt > holderRun.startedAt && run.startedAt < killedAt),
    ).toEqual([]);
  });

  it(`then the other instance starts the sync within the lease plus one tick (${FAILOVER_BOUND_MS} ms) of the kill, and settles the rest`, async () => {
    const failoverMs = (takeover?.startedAt ?? Infinity) - killedAt;
    process.stdout.write(
      `e2e scheduler: ${survivor.name} started the sync ${failoverMs} ms after the kill (lease ${LEASE_MS} ms, every ${SYNC_EVERY_MS} ms)\n`,
    );
    expect(failoverMs).toBeLessThanOrEqual(FAILOVER_BOUND_MS);
    // The holder's lease had to expire first: renewed at most a third of it before the kill, it lasted two thirds after.
    expect(failoverMs).toBeGreaterThanOrEqual((LEASE_MS * 2) / 3 - 100);
    await waitUntil(async () => (await syncedAmong(rechargeIds)) === REWARDS, 'every reward SYNCED', 30_000);
    const row = await databases()
      .db2('settlement_detail')
      .whereIn('recharge_id', rechargeIds)
      .select(databases().db2.raw('COUNT(*) AS n, COUNT(DISTINCT recharge_id) AS distinct_n'))
      .first();
    expect({ n: Number(row?.['n']), distinct: Number(row?.['distinct_n']) }).toEqual({ n: REWARDS, distinct: REWARDS });
  });

  it('then over both instances no job ran twice for one slot, and no run of a job overlapped another (a killed run ends at the kill)', () => {
    const runs = instances.flatMap(loggedRuns);
    const bySlot = new Map<string, LoggedRun[]>();
    for (const run of runs) bySlot.set(`${run.job} @ ${run.slot}`, [...(bySlot.get(`${run.job} @ ${run.slot}`) ?? []), run]);
    expect([...bySlot].filter(([, same]) => same.length > 1)).toEqual([]);
    const overlaps: string[] = [];
    for (const job of new Set(runs.map((run) => run.job))) {
      const ordered = runs.filter((run) => run.job === job).sort((a, b) => a.startedAt - b.startedAt);
      ordered.forEach((run, i) => {
        const before = ordered[i - 1];
        // A run that never finished was killed with its instance, or still runs.
        const beforeEnded = before ? (before.finishedAt ?? (before.instance === holder.name ? killedAt : Infinity)) : -Infinity;
        if (before && run.startedAt < beforeEnded)
          overlaps.push(`${job}: ${run.instance} @ ${run.slot} began before ${before.instance} @ ${before.slot} ended`);
      });
    }
    const counts = [...new Set(runs.map((run) => run.job))].map((job) => `${job} ${runs.filter((run) => run.job === job).length}`);
    process.stdout.write(`e2e scheduler: runs ${counts.join(', ')}; ${overlaps.length} overlapping\n`);
    expect(runs.filter((run) => run.job === 'realtime-flush').length).toBeGreaterThanOrEqual(5);
    expect(overlaps).toEqual([]);
  });
});
