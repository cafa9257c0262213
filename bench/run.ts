/**
 * `npm run bench`: builds the service, starts it against MariaDB + Redis (databases of its own) with
 * every feature on as deployed (the rate limiter at its default, logs at info written to a file),
 * seeds anchors, live rooms and viewers, drives POST /recharge with autocannon at 1, 64 and 256
 * connections and the batch endpoint, measures a bare express hello-world in the same run, checks
 * every 2xx reward was stored exactly once, then times the sync settling every pending reward and a
 * flush of 1,000 rooms' deltas, reports the service's peak RSS, and prints JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createPlatform } from '../src/platform';
import { loadConfig } from '../src/shared/config';
import { createDb } from '../src/shared/db/knex';
import { createTokenService } from '../src/shared/http/auth';
import { createLogger } from '../src/shared/logger';
import {
  benchStores,
  BENCH_SECRET,
  rewardBodies,
  cpuMs,
  createViewers,
  post,
  ROOT,
  peakRssMb,
  serverStatements,
  start,
  startLiveRooms,
} from './harness';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const ROOMS = 20;
const VIEWERS = 2000;
/** Rooms with a pending delta each for the flush figure. */
const FLUSH_ROOMS = Number(process.env['BENCH_FLUSH_ROOMS'] ?? 1000);

interface Figures {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  total2xx: number;
}

function figures(result: autocannon.Result): Figures {
  return {
    requestsPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total2xx: result['2xx'],
  };
}

/** Runs a load and reports, next to autocannon's figures, the server's CPU milliseconds per answer: steadier than req/s on a busy machine. */
async function measured(
  pid: number | undefined,
  options: autocannon.Options,
): Promise<{ result: autocannon.Result; cpuMsPerRequest: number }> {
  const before = cpuMs(pid);
  const result = await run(options);
  const answered = result['2xx'] + result.non2xx;
  return { result, cpuMsPerRequest: Number(((cpuMs(pid) - before) / Math.max(1, answered)).toFixed(3)) };
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ duration: SECONDS, ...options });
}

const rewardBody = rewardBodies('BENCH');

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  const stores = await benchStores();
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the service under load.
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  // As deployed (benchStores), logs written into a file; a pool as production's.
  const logDir = mkdtempSync(join(tmpdir(), 'bench-logs-'));
  const logFile = join(logDir, 'service.log');
  const environment = { ...stores, DB_POOL_MAX: process.env['BENCH_POOL'] ?? '20' };
  const service = await start([...nodeArgs, 'dist/src/main.js'], environment, '/health', openSync(logFile, 'a'));
  const hello = await start(['--import', 'tsx', 'bench/hello-server.ts'], {}, '/hello');
  const base = `http://127.0.0.1:${service.port}`;

  try {
    const tokens = createTokenService(BENCH_SECRET);
    const admin = await tokens.sign({ role: 'admin', id: 1 }, 3600);
    const serviceToken = await tokens.sign({ role: 'service', id: 1 }, 3600);
    const liveRooms = (count: number, name: string) => startLiveRooms(base, admin, count, name);
    const roomIds = await liveRooms(ROOMS, 'bench');
    const viewerIds = await createViewers(base, admin, VIEWERS, 'bench');

    const headers = { 'content-type': 'application/json', authorization: `Bearer ${serviceToken}` };
    // Every reward id a 2xx answer named, to check exactly-once against the database afterwards.
    const answeredIds: number[] = [];
    const collectIds = (status: number, body: string) => {
      if (status < 200 || status > 299) return;
      for (const match of body.matchAll(/"rechargeId":(\d+)/g)) answeredIds.push(Number(match[1]));
    };
    const single = (connections: number, duration = SECONDS) =>
      measured(service.child.pid, {
        url: `${base}/audience/api/v1/recharge`,
        connections,
        duration,
        method: 'POST',
        headers,
        requests: [
          { setupRequest: (request) => ({ ...request, body: JSON.stringify(rewardBody(roomIds, viewerIds)) }), onResponse: collectIds },
        ],
      });

    // The yardstick is measured right before and right after the 64-connection reward run, and the
    // ratio taken to their mean: on a shared machine the speed drifts within one run.
    const helloAt64 = () => measured(hello.child.pid, { url: `http://127.0.0.1:${hello.port}/hello`, connections: 64 });
    await single(16, 3);
    const run1 = await single(1, Math.min(SECONDS, 5));
    const helloBefore = await helloAt64();
    const statementsBefore64 = await serverStatements();
    const run64 = await single(64);
    const statements64 = (await serverStatements()) - statementsBefore64;
    const helloAfter = await helloAt64();
    // The HTTP floor of a reward (hello-server.ts): what express alone spends reading its body and answering it.
    const floor64 = await measured(hello.child.pid, {
      url: `http://127.0.0.1:${hello.port}/floor`,
      connections: 64,
      method: 'POST',
      headers,
      requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(rewardBody(roomIds, viewerIds)) }) }],
    });
    const run256 = await single(256);
    const c64 = run64.result;
    const c256 = run256.result;
    const rssAfter256Mb = peakRssMb(service.child.pid);
    const BATCH = 50;
    const batch = await run({
      url: `${base}/audience/api/v1/recharge/batch`,
      connections: 16,
      method: 'POST',
      headers,
      requests: [
        {
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({ items: Array.from({ length: BATCH }, () => rewardBody(roomIds, viewerIds)) }),
          }),
          onResponse: collectIds,
        },
      ],
    });

    // Exactly once: every id a 2xx named is one distinct stored reward; rewards stored but not
    // answered are only those still in flight when a run's clock stopped. Then the realtime figures,
    // flushed, must equal the stored sum to the fen.
    const check = createDb(stores['DB1_URL'] ?? '', { poolMax: 1, acquireTimeoutMs: 5000 });
    // Requests a run's clock cut off may still be in the service (queued behind the group commit, or
    // notifying the anchor module): the check waits until the reward table has not grown for a second.
    const storedNow = async () => Number(((await check('recharge').count({ n: '*' }).first()) as { n: number }).n);
    for (let last = -1, now = await storedNow(), waited = 0; now !== last && waited < 30_000; waited += 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      [last, now] = [now, await storedNow()];
    }
    const distinctAnswered = new Set(answeredIds);
    let answeredStored = 0;
    for (let i = 0; i < answeredIds.length; i += 1000) {
      const part = [...distinctAnswered].slice(i, i + 1000);
      if (part.length > 0)
        answeredStored += Number(((await check('recharge').whereIn('id', part).count({ n: '*' }).first()) as { n: number }).n);
    }
    const totals = (await check('recharge').count({ n: '*' }).sum({ s: 'amount' }).first()) as { n: number; s: number };
    for (const roomId of roomIds) await post(base, `/anchor/api/v1/live-rooms/${roomId}/realtime/flush`, admin, {});
    const realtimeFen = Number(((await check('live_room_realtime').sum({ s: 'total_earnings' }).first()) as { s: number }).s);

    // The sync: every reward of the runs above is pending (the jobs are off); one trigger settles them all, batch by batch.
    const pendingBefore = Number(
      ((await check('recharge').where({ sync_status: 'PENDING' }).count({ n: '*' }).first()) as { n: number }).n,
    );
    const syncStarted = performance.now();
    const synced = await post(base, '/audience/api/v1/sync/trigger', admin, {});
    const syncMs = performance.now() - syncStarted;

    // The flush: FLUSH_ROOMS more live rooms, one reward each pending in Redis, folded into DB1 by one flush
    // (the flush job's work), timed in a process of its own with the service's code and settings.
    const flushRooms = await liveRooms(FLUSH_ROOMS, 'flush');
    for (let i = 0; i < flushRooms.length; i += 500) {
      const items = flushRooms.slice(i, i + 500).map((roomId) => ({ ...rewardBody([roomId], viewerIds), liveRoomId: roomId }));
      await post(base, '/audience/api/v1/recharge/batch', serviceToken, { items });
    }
    const flusher = await createPlatform(loadConfig({ ...environment, LOG_LEVEL: 'warn' }), {
      logger: createLogger('warn', process.stderr),
    });
    const flushStarted = performance.now();
    const flushed = await flusher.flushRealtime();
    const flushMs = performance.now() - flushStarted;
    await flusher.close();
    const flushedFen = Number(
      ((await check('live_room_realtime').whereIn('live_room_id', flushRooms).sum({ s: 'total_earnings' }).first()) as { s: number }).s,
    );
    const flushStoredFen = Number(
      ((await check('recharge').whereIn('live_room_id', flushRooms).sum({ s: 'amount' }).first()) as { s: number }).s,
    );
    await check.destroy();

    const helloRuns = [helloBefore, helloAfter].map((run) => ({ ...figures(run.result), cpuMsPerRequest: run.cpuMsPerRequest }));
    const mean = (pick: (run: (typeof helloRuns)[number]) => number) =>
      helloRuns.reduce((sum, run) => sum + pick(run), 0) / helloRuns.length;
    const helloRate = mean((run) => run.requestsPerSec);
    const helloCpuMs = mean((run) => run.cpuMsPerRequest);
    const single64 = figures(c64);
    const report = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, seconds: SECONDS },
      hello64: { before: helloRuns[0], after: helloRuns[1], meanRequestsPerSec: Math.round(helloRate) },
      reward64: {
        ...single64,
        ratioToHello: Number((single64.requestsPerSec / helloRate).toFixed(3)),
        cpuMsPerRequest: run64.cpuMsPerRequest,
        cpuRatioToHello: Number((helloCpuMs / run64.cpuMsPerRequest).toFixed(3)),
        /** MariaDB statements per reward (BEGIN and COMMIT count): the group commit's reach. */
        dbStatementsPerReward: Number((statements64 / Math.max(1, c64['2xx'] + c64.non2xx)).toFixed(3)),
      },
      /** express reading a reward's body and answering it, nothing else: the part of a reward's CPU no service code can remove. */
      floor64: {
        ...figures(floor64.result),
        cpuMsPerRequest: floor64.cpuMsPerRequest,
        cpuRatioToHello: Number((helloCpuMs / floor64.cpuMsPerRequest).toFixed(3)),
      },
      reward256: { ...figures(c256), cpuMsPerRequest: run256.cpuMsPerRequest },
      reward1: { ...figures(run1.result), cpuMsPerRequest: run1.cpuMsPerRequest },
      batch16x50: { ...figures(batch), rewardsPerSec: Math.round(batch.requests.average * BATCH) },
      sync: {
        pendingBefore,
        synced: synced['synced'],
        pendingAfter: synced['pending'],
        seconds: Number((syncMs / 1000).toFixed(2)),
        rewardsPerSec: Math.round(Number(synced['synced']) / (syncMs / 1000)),
      },
      flush: { rooms: flushed.rooms, ms: Math.round(flushMs), equalsStored: flushedFen === flushStoredFen },
      peakRssMb: { after256: rssAfter256Mb, atEnd: peakRssMb(service.child.pid) },
      logBytes: statSync(logFile).size,
      exactlyOnce: {
        answered2xx: answeredIds.length,
        distinctIds: distinctAnswered.size,
        answeredAndStored: answeredStored,
        storedInAll: Number(totals.n),
        storedButCutOff: Number(totals.n) - answeredStored,
        realtimeEqualsStored: realtimeFen === Number(totals.s),
        ok: distinctAnswered.size === answeredIds.length && answeredStored === answeredIds.length && realtimeFen === Number(totals.s),
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    service.child.kill('SIGTERM');
    hello.child.kill('SIGTERM');
    rmSync(logDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
