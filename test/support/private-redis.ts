import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on loopback (bind to 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `count` distinct free ports (the kernel may hand the same one out twice in a row). */
export async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Polls `check` every 50 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A redis-server of the test's own on a free port, to kill, freeze (SIGSTOP) or restart —
 * fault tests never touch the shared Redis.
 */
export class PrivateRedis {
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    /** With a directory, Redis keeps an append-only file (fsync always) and survives a kill -9 with what it acknowledged. */
    private readonly dataDir: string | null,
    /** Snapshots only (`SAVE` writes one; a restart loads the last): a replica that lost what came after it. */
    private readonly snapshotsOnly = false,
  ) {}

  static async start(options: { durable?: boolean; snapshots?: boolean } = {}): Promise<PrivateRedis> {
    const dataDir = options.durable || options.snapshots ? mkdtempSync(join(tmpdir(), 'private-redis-')) : null;
    const redis = new PrivateRedis(await freePort(), dataDir, options.snapshots === true);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    if (this.process) return;
    const persistence = !this.dataDir
      ? ['--appendonly', 'no']
      : this.snapshotsOnly
        ? ['--appendonly', 'no', '--dir', this.dataDir, '--dbfilename', 'dump.rdb']
        : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dataDir];
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
      stdio: 'ignore',
    });
    await waitUntil(() => canConnect(this.port), `redis-server on ${this.port}`);
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = null;
    child.kill('SIGCONT');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await waitUntil(async () => !(await canConnect(this.port)), `port ${this.port} to close`);
  }

  /** Kills it for good and removes its data directory. */
  async dispose(): Promise<void> {
    await this.kill();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.kill('SIGCONT');
  }
}
