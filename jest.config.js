/**
 * Five projects: `unit` (pure rules and checks of the repository's own files: no server, no
 * database), `integration` (HTTP through supertest against real MariaDB and Redis; each worker gets
 * its own databases, created and migrated by the global setup), `e2e` (real processes: nginx with
 * nginx.conf in front of `src/main.ts` instances, killed with SIGKILL; the same databases, a Redis of
 * each test's own), `latency` (wall-clock bounds under faults, like integration but run alone) and
 * `browser` (the dashboard in Debian's Chromium, run alone last: a browser's processes never share
 * the machine with the timing-sensitive tests).
 *
 * The global setup and teardown belong to the three projects that need servers, not to the root: jest
 * runs a project's hook only when that project has tests in the run (once when several name the same
 * file), so `npm run test:unit` needs no server and never drops the databases of a full run.
 */
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
// jose ships ESM only; let swc turn it into CommonJS for jest's module system.
const transformIgnorePatterns = ['/node_modules/(?!jose/)'];

const withServers = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  // Test files run one after another (one worker on these 2-CPU machines), but in a worker process,
  // not in jest's own: a worker whose heap passed this size after a file is replaced before the next.
  // In band, the heap grew to several GB over the run, and the GC pauses that came with it made
  // sub-second timeouts (the health probe's, Redis's) fire late in a CI run.
  workerIdleMemoryLimit: '1GB',
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      ...withServers,
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      // Wall-clock bounds under faults: `npm test` runs this project on its own, after the others, so
      // what it measures is the service, not the neighbouring test files' load on the machine.
      displayName: 'latency',
      testMatch: ['<rootDir>/test/latency/**/*.test.ts'],
      ...withServers,
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      ...withServers,
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
      // Jest reads testTimeout from the root config only: the e2e project's longer one is set here.
      setupFilesAfterEnv: ['<rootDir>/test/e2e/timeout.ts'],
    },
    {
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
      ...withServers,
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
      setupFilesAfterEnv: ['<rootDir>/test/e2e/timeout.ts'],
    },
  ],
};
