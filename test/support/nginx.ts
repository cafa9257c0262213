import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NGINX_INSTALL_HINT, nginxBinary } from './environment';
import { freePort, waitUntil } from './private-redis';

const ROOT = resolve(__dirname, '../..');

/** One line of nginx.conf's `tipping` access log. */
export interface AccessLine {
  method: string;
  path: string;
  status: number;
  traceId: string;
  /** `$upstream_addr`: every instance nginx tried, in order ("127.0.0.1:1, 127.0.0.1:2"); empty when nginx answered itself. */
  upstreams: string[];
}

const ACCESS_LINE = /^\S+ \[[^\]]+\] "(\S+) (\S+)[^"]*" (\d{3}) \d+ rt=\S+ urt=.*? trace=(\S+) upstream=(.*)$/;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
  });
}

/**
 * The project's own nginx.conf, run by the real nginx in a temporary prefix, ports filled in the way
 * `.ci/nginx-edge` fills them: `listen 80;` becomes a free loopback port, the access log a file, and
 * a generated nginx-upstreams.conf next to it lists the instances. Runs in the foreground as a
 * child of the test, so the test can always stop it.
 */
export class Nginx {
  private constructor(
    readonly port: number,
    private readonly prefix: string,
    private readonly child: ChildProcess,
    private readonly stderr: () => string,
  ) {}

  static async start(upstreamPorts: readonly number[]): Promise<Nginx> {
    const binary = nginxBinary();
    if (!binary) throw new Error(`nginx is not installed.\n${NGINX_INSTALL_HINT}`);
    const port = await freePort();
    const prefix = mkdtempSync(join(tmpdir(), 'tipping-nginx-'));
    // nginx's workers run as nobody and keep their temp files under the prefix.
    chmodSync(prefix, 0o755);
    mkdirSync(join(prefix, 'logs'));
    const original = readFileSync(join(ROOT, 'nginx.conf'), 'utf8');
    const conf = original
      .replace('listen 80;', `listen 127.0.0.1:${port};`)
      .replace('access_log /dev/stdout tipping;', `access_log ${join(prefix, 'logs/access.log')} tipping;`);
    if (!conf.includes(`listen 127.0.0.1:${port};`) || !conf.includes('logs/access.log tipping;')) {
      rmSync(prefix, { recursive: true, force: true });
      throw new Error('nginx.conf no longer has `listen 80;` and `access_log /dev/stdout tipping;` to fill in');
    }
    writeFileSync(join(prefix, 'nginx.conf'), conf);
    // As a deployment fills it in (the committed file's server line and its failure policy).
    writeFileSync(
      join(prefix, 'nginx-upstreams.conf'),
      upstreamPorts.map((upstream) => `server 127.0.0.1:${upstream} max_fails=2 fail_timeout=30s;\n`).join(''),
    );
    const globals = `daemon off; pid ${join(prefix, 'nginx.pid')}; error_log ${join(prefix, 'logs/error.log')};`;
    const child = spawn(binary, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', globals], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
    const nginx = new Nginx(port, prefix, child, () => stderr);
    try {
      await waitUntil(
        async () => {
          if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
          return canConnect(port);
        },
        `nginx on ${port}`,
        10_000,
      );
    } catch (error) {
      const message = `${(error as Error).message}\n${stderr}\n${nginx.errorLog()}`;
      await nginx.stop();
      throw new Error(message);
    }
    return nginx;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  accessLog(): AccessLine[] {
    const file = join(this.prefix, 'logs/access.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line) => {
        const match = ACCESS_LINE.exec(line);
        if (!match) return [];
        const [, method, path, status, traceId, upstream] = match;
        const upstreams = upstream === '-' || !upstream ? [] : upstream.split(', ');
        return [{ method: method!, path: path!, status: Number(status), traceId: traceId!, upstreams }];
      });
  }

  errorLog(): string {
    const file = join(this.prefix, 'logs/error.log');
    return existsSync(file) ? readFileSync(file, 'utf8').slice(-8000) : this.stderr();
  }

  /** Fast shutdown (SIGTERM; SIGKILL if it lingers), then the prefix is removed. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.prefix, { recursive: true, force: true });
  }
}
