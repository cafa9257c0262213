/** What the benchmarks share: fresh MariaDB databases, a service process on a free port, JSON calls. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import knex from 'knex';
import { createDb, mysqlConnection, parseMysqlUrl } from '../src/shared/db/knex';
import { migrateToLatest } from '../src/shared/db/migrate';
import { db1Migrations } from '../migrations/db1';
import { db2Migrations } from '../migrations/db2';

export const ROOT = resolve(__dirname, '..');
const MYSQL = process.env['BENCH_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306';
export const BENCH_REDIS = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/14';
export const BENCH_SECRET = 'bench-secret-0123456789-0123456789-0123';

export async function freshDatabase(name: string, migrations: typeof db1Migrations): Promise<string> {
  const url = `${MYSQL}/${name}`;
  const admin = knex({ client: 'mysql2', connection: mysqlConnection(parseMysqlUrl(url), false), pool: { min: 0, max: 1 } });
  await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.destroy();
  const db = createDb(url, { poolMax: 1, acquireTimeoutMs: 5000 });
  await migrateToLatest(db, migrations);
  await db.destroy();
  return url;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts a node process on a free port and waits until `readyPath` answers 200; its stdout goes to `stdout` (a file descriptor) or nowhere. */
export async function start(
  command: string[],
  env: Record<string, string>,
  readyPath: string,
  stdout: number | 'ignore' = 'ignore',
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, command, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', stdout, 'inherit'],
  });
  // A bench that fails midway must not leave its service running (and holding the terminal's stderr).
  process.once('exit', () => child.kill('SIGKILL'));
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}${readyPath}`)).ok) return { child, port };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${command.join(' ')} did not become ready`);
}

export async function post(base: string, path: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path} -> ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
}

/** A per-process figure summed over a process and its descendants alive now (a `cluster` primary and its workers, say). */
export function ofTree(pid: number | undefined, figure: (pid: number | undefined) => number): number {
  return figure(pid) + childrenOf(pid).reduce((sum, child) => sum + ofTree(child, figure), 0);
}

/** The children of a process's main thread (where `cluster.fork` and `spawn` put them); none where the kernel does not list them. */
function childrenOf(pid: number | undefined): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The most memory a process has held so far (VmHWM, MB). */
export function peakRssMb(pid: number | undefined): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Math.round(Number(line?.replace(/\D+/g, '') ?? 0) / 1024);
}

/** Write system calls (write, writev, …) a process has made so far, from /proc (Linux): each is a socket or file write. */
export function writeSyscalls(pid: number | undefined): number {
  return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

/** Statements the MariaDB server has received so far (all clients, this SHOW included): the bench's service is its only busy one. */
export async function serverStatements(): Promise<number> {
  const admin = knex({ client: 'mysql2', connection: mysqlConnection(parseMysqlUrl(`${MYSQL}/mysql`), false), pool: { min: 0, max: 1 } });
  try {
    const [rows] = (await admin.raw("SHOW GLOBAL STATUS LIKE 'Questions'")) as [Array<{ Value: string }>];
    return Number(rows[0]?.Value);
  } finally {
    await admin.destroy();
  }
}

/**
 * Fresh databases and an empty Redis database for a benchmark, and the service's settings as
 * deployed on them: logs at info (the reward's log chain), the rate limiter at its default (600 per
 * viewer and minute), a key prefix. The jobs are off, so that what a benchmark times runs alone.
 */
export async function benchStores(): Promise<Record<string, string>> {
  const db1 = await freshDatabase('tipping_bench_db1', db1Migrations);
  const db2 = await freshDatabase('tipping_bench_db2', db2Migrations);
  const redisDb = new URL(BENCH_REDIS);
  execFileSync('redis-cli', ['-h', redisDb.hostname, '-p', redisDb.port || '6379', '-n', redisDb.pathname.slice(1) || '0', 'FLUSHDB']);
  return {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DB1_URL: db1,
    DB2_URL: db2,
    REDIS_URL: BENCH_REDIS,
    REDIS_KEY_PREFIX: 'bench:',
    JWT_SECRET: BENCH_SECRET,
    LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'info',
    CRON_ENABLED: 'false',
  };
}

/** `count` anchors, each with a room of its own, started: the rooms' ids. */
export async function startLiveRooms(base: string, adminToken: string, count: number, name: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const anchor = await post(base, '/anchor/api/v1/anchors', adminToken, { name: `${name}-anchor-${i}` });
    const room = await post(base, '/anchor/api/v1/live-rooms', adminToken, { anchorId: anchor['anchorId'], title: `${name} room ${i}` });
    await post(base, `/anchor/api/v1/live-rooms/${String(room['liveRoomId'])}/start`, adminToken, {});
    ids.push(room['liveRoomId'] as number);
  }
  return ids;
}

/** `count` viewers: their ids. */
export async function createViewers(base: string, adminToken: string, count: number, name: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i += 1)
    ids.push((await post(base, '/audience/api/v1/audiences', adminToken, { nickname: `${name}-viewer-${i}` }))['audienceId'] as number);
  return ids;
}

/** A maker of reward bodies with traceIds of their own, spread over the rooms and viewers given. */
export function rewardBodies(prefix: string) {
  let sequence = 0;
  return (roomIds: readonly number[], viewerIds: readonly number[]) => {
    sequence += 1;
    return {
      traceId: `${prefix}-${process.pid}-${sequence}`,
      audienceId: viewerIds[sequence % viewerIds.length],
      liveRoomId: roomIds[sequence % roomIds.length],
      amount: `${1 + (sequence % 500)}.${String(sequence % 100).padStart(2, '0')}`,
    };
  };
}
