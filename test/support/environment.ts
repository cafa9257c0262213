/**
 * Where the test dependencies live. Defaults are the machine's own servers; override with
 * TEST_MYSQL_URL / TEST_REDIS_URL. Each jest worker gets its own databases and Redis db index.
 */
export const TEST_MYSQL_URL = process.env['TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306';
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export function workerId(): number {
  return Number(process.env['JEST_WORKER_ID'] ?? '1');
}

export function workerDatabaseUrl(store: 'db1' | 'db2', worker = workerId()): string {
  return `${TEST_MYSQL_URL}/tipping_test_w${worker}_${store}`;
}

/** Redis db index per worker (1..15; db 0 is left alone). */
export function workerRedisUrl(worker = workerId()): string {
  return `${TEST_REDIS_URL}/${((worker - 1) % 15) + 1}`;
}

export const START_HINT = [
  'The integration tests need MariaDB on 127.0.0.1:3306 (root, empty password) and Redis on 127.0.0.1:6379.',
  'Start them with:',
  '  start-stop-daemon --start --oknodo --background --exec "$(command -v mariadbd)"',
  '  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
].join('\n');
