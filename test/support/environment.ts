import { createHash } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/**
 * Where the test dependencies live. Defaults are the machine's own servers; override with
 * TEST_MYSQL_URL / TEST_REDIS_URL. Each jest worker gets its own databases and Redis db index, and
 * every name carries a tag of this checkout, so two runs on one machine (a developer's and CI's)
 * never drop each other's databases.
 */
export const RUN_TAG = process.env['TEST_RUN_TAG'] ?? createHash('sha1').update(resolve(__dirname, '../..')).digest('hex').slice(0, 8);
export const TEST_MYSQL_URL = process.env['TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306';
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export function workerId(): number {
  return Number(process.env['JEST_WORKER_ID'] ?? '1');
}

/** `tipping_test_<tag>_w<worker>_<name>`: one database of one worker of this checkout. */
export function workerDatabaseName(name: string, worker = workerId()): string {
  return `tipping_test_${RUN_TAG}_w${worker}_${name}`;
}

export function workerDatabaseUrl(store: 'db1' | 'db2', worker = workerId()): string {
  return `${TEST_MYSQL_URL}/${workerDatabaseName(store, worker)}`;
}

/** Every Redis key the platform writes in tests starts with this (the db index is shared between checkouts). */
export const REDIS_KEY_PREFIX = `t${RUN_TAG}:`;

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

export const NGINX_INSTALL_HINT = [
  'The end-to-end tests (test/e2e) run the real nginx with nginx.conf in front of two instances.',
  'Install it with:',
  '  apt-get install -y --no-install-recommends nginx-light    (Debian; or: apt-get install -y nginx)',
  'or point TEST_NGINX at an nginx binary.',
].join('\n');

/** The nginx binary the e2e tests run: TEST_NGINX, else `nginx` on PATH or in /usr/sbin (Debian's, off a normal user's PATH); null when none. */
export function nginxBinary(): string | null {
  const candidates = process.env['TEST_NGINX']
    ? [process.env['TEST_NGINX']]
    : [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'].map((dir) => join(dir, 'nginx'));
  return (
    candidates.find((candidate) => {
      try {
        accessSync(candidate, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? null
  );
}
