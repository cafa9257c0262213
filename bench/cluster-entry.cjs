/**
 * The service under node's `cluster`: BENCH_WORKERS (2) processes sharing one port, for
 * `PROFILE_ENTRY=bench/cluster-entry.cjs npm run bench:profile` (does a second process help on this machine?).
 */
const cluster = require('node:cluster');
const { resolve } = require('node:path');

if (cluster.isPrimary) {
  const workers = Array.from({ length: Number(process.env.BENCH_WORKERS ?? 2) }, () => cluster.fork());
  process.once('SIGTERM', () => {
    for (const worker of workers) worker.kill('SIGTERM');
    cluster.once('exit', () => process.exit(0));
  });
} else {
  require(resolve(__dirname, '..', 'dist', 'src', 'main.js'));
}
