import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerDatabaseUrl } from './environment';
import { TEST_JWT_SECRET } from './platform';
import { waitUntil } from './private-redis';

const ROOT = resolve(__dirname, '../..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** One JSON log line of an instance, with the life (0 = first start, 1 = after the first restart, …) that wrote it. */
export interface LogEntry {
  life: number;
  line: Record<string, unknown>;
}

/** How a life ended: an exit code, or the signal that ended it. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A real service instance (`node --import tsx src/main.ts`, as production runs `node dist/src/main.js`)
 * on a fixed port, so nginx can list it and it can be SIGKILLed and started again at the same address.
 * Every JSON line it prints is kept, across restarts.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private lives = 0;
  private partial = '';
  private output = '';
  private partialError = '';
  private lastExit: Promise<Exit> | null = null;
  readonly entries: LogEntry[] = [];
  /** `failpoint <name>: <action>` lines it wrote to stderr (src/shared/failpoints.ts), with their life. */
  readonly struck: Array<{ life: number; failpoint: string }> = [];

  private constructor(
    readonly name: string,
    readonly port: number,
    private env: Record<string, string>,
  ) {}

  /** Starts it and waits until it listens; `env` is its whole environment (PATH and HOME are added). */
  static async start(name: string, port: number, env: Record<string, string>): Promise<ServiceProcess> {
    const service = new ServiceProcess(name, port, env);
    await service.restart();
    return service;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The life the next start will be (the current one is this minus 1). */
  get nextLife(): number {
    return this.lives;
  }

  /** Changes the environment of the lives started from now on (undefined removes a variable), e.g. to arm FAILPOINTS. */
  setEnvironment(changes: Record<string, string | undefined>): void {
    const env = { ...this.env };
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    this.env = env;
  }

  /** Waits until the current (or last) life ended by itself, and says how; all it printed is read by then. */
  async exited(timeoutMs = 30_000): Promise<Exit> {
    const exit = this.lastExit;
    if (!exit) throw new Error(`${this.name} was never started`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} still running after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lines of the current life and earlier ones whose `msg` is `message`. */
  linesWith(message: string): LogEntry[] {
    return this.entries.filter((entry) => entry.line['msg'] === message);
  }

  async restart(timeoutMs = 30_000): Promise<void> {
    if (this.child) return;
    const life = this.lives;
    this.lives += 1;
    this.partial = '';
    this.partialError = '';
    const child = spawn(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? ROOT, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.take(chunk.toString(), life));
    child.stderr?.on('data', (chunk: Buffer) => this.takeError(chunk.toString(), life));
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.lastExit = new Promise((resolveExit) => child.once('close', (code, signal) => resolveExit({ code, signal })));
    const listening = () => this.entries.some((entry) => entry.life === life && String(entry.line['msg']).startsWith('listening on'));
    try {
      await waitUntil(
        () => {
          if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
          return Promise.resolve(listening());
        },
        `${this.name} to listen on ${this.port}`,
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${this.name} did not start: ${(error as Error).message}\n${this.output.slice(-4000)}`);
    }
  }

  /** SIGKILL: no shutdown hook runs, in-flight requests and jobs die where they are. Resolves once all it printed is read. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const closed = new Promise((resolveClose) => child.once('close', resolveClose));
    child.kill('SIGKILL');
    await closed;
  }

  /** The tail of what it printed, for failure messages. */
  private keep(text: string): void {
    this.output = (this.output + text).slice(-16_000);
  }

  private takeError(text: string, life: number): void {
    this.keep(text);
    const lines = (this.partialError + text).split('\n');
    this.partialError = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('failpoint ')) this.struck.push({ life, failpoint: line.slice('failpoint '.length) });
  }

  private take(text: string, life: number): void {
    this.keep(text);
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        this.entries.push({ life, line: JSON.parse(line) as Record<string, unknown> });
      } catch {
        // A line that merely starts like JSON (the banner is plain text): nothing to assert on.
      }
    }
  }
}

/** A cron expression that does not fire during a test (1 January, midnight). */
export const NEVER = '0 0 0 1 1 *';

/**
 * What every real instance of a test starts with: the worker's DB pair, the test secret, loopback,
 * migrations left to the global setup, no rate limit, and `info` logs (start waits for the
 * `listening on …` line). `overrides` adds the Redis, the crons and whatever the test is about.
 */
export function instanceEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DB1_URL: workerDatabaseUrl('db1'),
    DB2_URL: workerDatabaseUrl('db2'),
    JWT_SECRET: TEST_JWT_SECRET,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    AUTO_MIGRATE: 'false',
    RATE_LIMIT_PER_MINUTE: '0',
    ...overrides,
  };
}
