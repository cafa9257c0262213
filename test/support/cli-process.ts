import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(__dirname, '../..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** How a CLI run ended and what it printed: stdout is the command's JSON, stderr its log lines and any failpoint that struck. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The JSON log lines of stderr, parsed. */
  logLines: Array<Record<string, unknown>>;
  /** `failpoint <name>: <action>` lines of stderr: the points that struck, in order. */
  struck: string[];
}

/**
 * Runs `src/cli.ts <args>` in a process of its own (`node --import tsx`, as `npm run cli` does) with
 * `env` as its whole environment (PATH and HOME added), and resolves when it ended, however it ended.
 */
export function runCli(args: readonly string[], env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/cli.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? ROOT, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cli ${args.join(' ')} still running after ${timeoutMs} ms:\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stderr.split('\n');
      const logLines = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
      const struck = lines.filter((line) => line.startsWith('failpoint ')).map((line) => line.slice('failpoint '.length));
      resolveRun({ code, signal, stdout, stderr, logLines, struck });
    });
  });
}
