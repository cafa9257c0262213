/** What the benchmarks share: fresh MariaDB databases, a service process on a free port, JSON calls. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import knex from 'knex';
import { createDb, mysqlConnection, parseMysqlUrl } from '../src/shared/db/knex';
import { migrateToLatest } from '../src/shared/db/migrate';
import type { db1Migrations } from '../migrations/db1';

export const ROOT = resolve(__dirname, '..');
const MYSQL = process.env['BENCH_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306';

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
