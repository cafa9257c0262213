/**
 * The service under node's `cluster`: BENCH_WORKERS (2) processes sharing one port, for
 * `PROFILE_ENTRY=bench/cluster-entry.cjs PROFILE_ENV="BENCH_WORKERS=2" npm run bench:profile`
 * (does a second process help on this machine?). SIGTERM is passed to every worker, each shuts
 * down as a lone service would, and the primary exits once all have; a worker that dies on its own
 * takes the primary down with its exit code, so the bench sees it at once.
 */
const cluster = require('node:cluster');
const { resolve } = require('node:path');

if (cluster.isPrimary) {
  const workers = Array.from({ length: Number(process.env.BENCH_WORKERS ?? 2) }, () => cluster.fork());
  let stopping = false;
  let running = workers.length;
  cluster.on('exit', (_worker, code) => {
    running -= 1;
    if (!stopping) {
      stopping = true;
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGTERM');
      process.exitCode = code ?? 1;
    }
    if (running === 0) process.exit();
  });
  process.once('SIGTERM', () => {
    stopping = true;
    for (const worker of workers) worker.process.kill('SIGTERM');
  });
} else {
  require(resolve(__dirname, '..', 'dist', 'src', 'main.js'));
}
