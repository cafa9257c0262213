/**
 * `npm run bench:profile`: where a reward's CPU goes. Builds the service, starts it as the bench
 * does (MariaDB + Redis, logs at info into a file, the rate limiter on) under `--cpu-prof`, drives
 * POST /recharge (or the batch endpoint, PROFILE_BATCH items a request) at PROFILE_CONNECTIONS (default 64)
 * for BENCH_SECONDS after a warm-up, stops it, and prints the CPU per reward and the
 * profile's busy time by where it was spent (GC, each package, node's own code, the service's own
 * modules) and its heaviest functions, as JSON. The raw profile stays in the printed directory
 * (open it in Chrome's DevTools or speedscope for the flame graph); `npm run bench:profile -- <file>`
 * summarises a profile already taken.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createTokenService } from '../src/shared/http/auth';
import {
  benchStores,
  BENCH_SECRET,
  rewardBodies,
  cpuMs,
  ofTree,
  peakRssMb,
  createViewers,
  serverStatements,
  start,
  startLiveRooms,
  writeSyscalls,
} from './harness';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONNECTIONS = Number(process.env['PROFILE_CONNECTIONS'] ?? 64);
/** PROFILE_BATCH=N: the load is POST /recharge/batch with N rewards a request instead of single rewards. */
const BATCH = Number(process.env['PROFILE_BATCH'] ?? 0);
/**
 * PROFILE_ENTRY=<file>: the script to start instead of the service's entry point (bench/cluster-entry.cjs,
 * its workers set with PROFILE_ENV="BENCH_WORKERS=n"); CPU, writes and peak RSS count its children too,
 * and the profile summarised is the largest one written (a busy worker's).
 */
const ENTRY = process.env['PROFILE_ENTRY'] ?? 'dist/src/main.js';
/** PROFILE_NODE_ARGS="--flag …": node flags of the service to try (e.g. "--max-semi-space-size=8"). */
const NODE_ARGS = (process.env['PROFILE_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
/** PROFILE=0: no profiler, only the figures (to compare settings without the profiler's own cost). */
const PROFILING = process.env['PROFILE'] !== '0';
/** PROFILE_ENV="NAME=value …": settings of the service to try (e.g. "RATE_LIMIT_PER_MINUTE=0"). */
const EXTRA_ENV = Object.fromEntries(
  (process.env['PROFILE_ENV'] ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, node's own code, the service's own module, or V8's bookkeeping. */
function placeOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const inPackage = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (inPackage) return inPackage[1] ?? url;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] ?? ''}`;
  const own = url.match(/dist\/src\/(.+?)\.js$/);
  return own ? `src/${own[1] ?? ''}` : url;
}

function summarise(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  /** The nearest frame up the stack that is a package's or the service's own code: who asked for node's or V8's work. */
  const ownerOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      const place = placeOf(frame);
      if (!place.startsWith('(') && !place.startsWith('node:')) return place;
    }
    return placeOf(byId.get(id)?.callFrame ?? { functionName: '(native)', url: '', lineNumber: 0 });
  };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const places = new Map<string, number>();
  const functions = new Map<string, number>();
  const owners = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const place = placeOf(frame);
    places.set(place, (places.get(place) ?? 0) + us);
    const owner = ownerOf(id);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const name = `${frame.functionName || '(anonymous)'} ${place}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const shares = (map: Map<string, number>, top: number) =>
    Object.fromEntries(
      [...map]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([name, us]) => [name, Number(((100 * us) / busyUs).toFixed(1))]),
    );
  return {
    busySeconds: Number((busyUs / 1e6).toFixed(2)),
    idleShare: Number(((100 * idleUs) / totalUs).toFixed(1)),
    percentOfBusyByPlace: shares(places, 30),
    percentOfBusyByOwner: shares(owners, 30),
    percentOfBusyByFunction: shares(functions, 30),
  };
}

async function main(): Promise<void> {
  // A profile already taken: summarise it again.
  const given = process.argv[2];
  if (given) {
    process.stdout.write(`${JSON.stringify(summarise(JSON.parse(readFileSync(given, 'utf8')) as CpuProfile), null, 2)}\n`);
    return;
  }
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  const stores = await benchStores();
  const profileDir = mkdtempSync(join(tmpdir(), 'reward-profile-'));
  const service = await start(
    [...NODE_ARGS, ...(PROFILING ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ENTRY],
    { ...stores, ...EXTRA_ENV },
    '/health',
    openSync(join(profileDir, 'service.log'), 'a'),
  );
  const base = `http://127.0.0.1:${service.port}`;
  const tokens = createTokenService(BENCH_SECRET);
  const admin = await tokens.sign({ role: 'admin', id: 1 }, 3600);
  const serviceToken = await tokens.sign({ role: 'service', id: 1 }, 3600);
  const roomIds = await startLiveRooms(base, admin, 20, 'profile');
  const viewerIds = await createViewers(base, admin, 500, 'profile');

  const rewardBody = rewardBodies('PROFILE');
  const body = () =>
    BATCH > 0 ? { items: Array.from({ length: BATCH }, () => rewardBody(roomIds, viewerIds)) } : rewardBody(roomIds, viewerIds);
  const load = (connections: number, duration: number) =>
    autocannon({
      url: `${base}/audience/api/v1/recharge${BATCH > 0 ? '/batch' : ''}`,
      connections,
      duration,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serviceToken}` },
      requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(body()) }) }],
    });
  // Warmed up first (the JIT, the pools, the rooms' cached bases), as the bench's own first run does.
  await load(16, 3);
  const statementsBefore = await serverStatements();
  const writesBefore = ofTree(service.child.pid, writeSyscalls);
  const cpuBefore = ofTree(service.child.pid, cpuMs);
  const result = await load(CONNECTIONS, SECONDS);
  const cpuAfter = ofTree(service.child.pid, cpuMs);
  const writesAfter = ofTree(service.child.pid, writeSyscalls);
  const peakRss = ofTree(service.child.pid, peakRssMb);
  const statementsAfter = await serverStatements();
  const rewardsPerRequest = Math.max(1, BATCH);
  const rewards = Math.max(1, (result['2xx'] + result.non2xx) * rewardsPerRequest);
  const cpuMsPerReward = Number(((cpuAfter - cpuBefore) / rewards).toFixed(3));
  await new Promise<void>((resolve) => {
    service.child.once('exit', () => resolve());
    service.child.kill('SIGTERM');
  });
  const figures = {
    connections: CONNECTIONS,
    seconds: SECONDS,
    env: EXTRA_ENV,
    nodeArgs: NODE_ARGS,
    rewardsPerRequest,
    requestsPerSec: Math.round(result.requests.average),
    rewardsPerSec: Math.round(result.requests.average * rewardsPerRequest),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuMsPerReward,
    /** MariaDB statements (BEGIN and COMMIT count) and write system calls (HTTP answers, DB and Redis commands, log lines) per reward. */
    dbStatementsPerReward: Number(((statementsAfter - statementsBefore) / rewards).toFixed(3)),
    /** The service's peak RSS (MB) so far; a cluster's is the sum of its processes' peaks. */
    peakRssMb: peakRss,
    writeSyscallsPerReward: Number(((writesAfter - writesBefore) / rewards).toFixed(3)),
  };
  if (!PROFILING) {
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    return;
  }
  // Under cluster every process writes its own profile: the largest is a busy worker's.
  const file = readdirSync(profileDir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(profileDir, b)).size - statSync(join(profileDir, a)).size)[0];
  if (!file) throw new Error(`no profile written in ${profileDir}`);
  const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
  const report = {
    ...figures,
    profile: join(profileDir, file),
    ...summarise(profile),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
