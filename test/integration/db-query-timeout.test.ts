import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createDb, type Db } from '../../src/shared/db/knex';
import { toAppError } from '../../src/shared/http/problem';
import { createLogger } from '../../src/shared/logger';
import { workerDatabaseUrl } from '../support/environment';
import { waitUntil } from '../support/private-redis';
import { createTestPlatform, newTraceId, type TestPlatform } from '../support/platform';
import { TcpProxy } from '../support/tcp-proxy';

const QUERY_TIMEOUT_MS = 500;
const logger = createLogger('silent');

async function connectionId(db: Db): Promise<number> {
  const [rows] = (await db.raw('SELECT CONNECTION_ID() AS id')) as [Array<{ id: number }>];
  return Number(rows[0]?.id);
}

/** Runs `work`, expecting it to fail; gives the error and how long the failure took. */
async function failure(work: () => Promise<unknown>): Promise<{ error: unknown; elapsedMs: number }> {
  const started = Date.now();
  try {
    await work();
  } catch (error) {
    return { error, elapsedMs: Date.now() - started };
  }
  throw new Error('expected the work to fail');
}

function expectDependencyUnavailable(error: unknown): void {
  expect(toAppError(error).appError).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', status: 503, headers: { 'Retry-After': '5' } });
}

/** The per-statement timeout of the MySQL pools, against the real MariaDB (directly, and behind a proxy that freezes). */
describe('database query timeout', () => {
  let proxy: TcpProxy;
  let direct: Db;
  const pools: Db[] = [];

  function pool(options: { throughProxy: boolean }): Db {
    const url = workerDatabaseUrl('db1');
    const db = createDb(options.throughProxy ? url.replace(':3306/', `:${proxy.port}/`) : url, {
      poolMax: 1,
      acquireTimeoutMs: 2000,
      queryTimeoutMs: QUERY_TIMEOUT_MS,
      logger,
    });
    pools.push(db);
    return db;
  }

  async function sessionIsOpen(id: number): Promise<boolean> {
    const [rows] = (await direct.raw('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [id])) as [unknown[]];
    return rows.length > 0;
  }

  async function viewersNamed(nickname: string): Promise<number> {
    return (await direct('audience').where({ nickname })).length;
  }

  function newViewer(nickname: string) {
    const now = new Date();
    return { nickname, created_at: now, updated_at: now };
  }

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
    direct = createDb(workerDatabaseUrl('db1'), { poolMax: 2, acquireTimeoutMs: 2000 });
  });

  afterEach(() => proxy.thaw());

  afterAll(async () => {
    await Promise.all([...pools, direct].map((db) => db.destroy()));
    await proxy.cut();
  });

  it('when a statement runs longer than the timeout, then it fails within about the timeout as DEPENDENCY_UNAVAILABLE and the next one answers on a new connection', async () => {
    const db = pool({ throughProxy: false });
    const before = await connectionId(db);

    const { error, elapsedMs } = await failure(() => db.raw('SELECT SLEEP(3)'));

    expect(elapsedMs).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 20);
    expect(elapsedMs).toBeLessThan(1500);
    expect(error).toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
    expectDependencyUnavailable(error);
    const started = Date.now();
    const after = await connectionId(db);
    expect(Date.now() - started).toBeLessThan(QUERY_TIMEOUT_MS);
    expect(after).not.toBe(before);
  });

  it('when the network freezes inside a transaction, then the transaction fails with the timeout, its connection is dropped and nothing it wrote is stored', async () => {
    const db = pool({ throughProxy: true });
    const nickname = newTraceId('frozen-insert');
    let session = 0;

    const { error, elapsedMs } = await failure(() =>
      db.transaction(async (trx) => {
        session = await connectionId(trx);
        proxy.freeze();
        await trx('audience').insert(newViewer(nickname));
      }),
    );

    // The ROLLBACK knex sends next fails at once on the dropped connection instead of waiting too.
    expect(elapsedMs).toBeLessThan(1500);
    expect(error).toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
    expectDependencyUnavailable(error);
    proxy.thaw();
    // The held INSERT reaches the server after the partition, then the close: the server rolls it back.
    await waitUntil(async () => !(await sessionIsOpen(session)), `session ${session} to end`);
    expect(await viewersNamed(nickname)).toBe(0);
    expect(await connectionId(db)).not.toBe(session);
  });

  it('when the COMMIT is what freezes, then the caller gets the timeout although the server may still commit: the reason writes must be idempotent', async () => {
    const db = pool({ throughProxy: true });
    const nickname = newTraceId('frozen-commit');
    let session = 0;

    const { error } = await failure(() =>
      db.transaction(async (trx) => {
        session = await connectionId(trx);
        await trx('audience').insert(newViewer(nickname));
        proxy.freeze();
      }),
    );

    expectDependencyUnavailable(error);
    proxy.thaw();
    await waitUntil(async () => !(await sessionIsOpen(session)), `session ${session} to end`);
    expect(await viewersNamed(nickname)).toBe(1);
  });

  it("when the server does not answer a new pool's version question, then it gives up after the timeout (knex caches that question for every later connection of the pool)", async () => {
    const lender = pool({ throughProxy: true });
    const raw: unknown = await lender.client.acquireRawConnection();
    const fresh = pool({ throughProxy: true });
    const checkVersion = (fresh.client as unknown as { checkVersion(connection: unknown): Promise<unknown> }).checkVersion.bind(
      fresh.client,
    );
    proxy.freeze();

    const started = Date.now();
    await checkVersion(raw);

    expect(Date.now() - started).toBeLessThan(1500);
    expect(raw).toMatchObject({ __knex__disposed: { code: 'PROTOCOL_SEQUENCE_TIMEOUT' } });
    proxy.thaw();
    expect(await connectionId(fresh)).toBeGreaterThan(0);
  });
});

describe('reconciliation on a pool of its own', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ DB_QUERY_TIMEOUT_MS: '400', REPORT_TIMEOUT_MS: '5000' });
  });
  afterAll(() => t.close());

  it('when a statement takes longer than DB_QUERY_TIMEOUT_MS, then the request pools cut it off but the report pools let it finish', async () => {
    await expect(t.db1.raw('SELECT SLEEP(1)')).rejects.toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
    await expect(t.db2.raw('SELECT SLEEP(1)')).rejects.toMatchObject({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' });
    await expect(t.reports.db1.raw('SELECT SLEEP(1)')).resolves.toBeDefined();
    await expect(t.reports.db2.raw('SELECT SLEEP(1)')).resolves.toBeDefined();
  });

  it('when reconciliation runs, then its whole-table statements go to the report pools, not the request pools', async () => {
    const seen = { requests: [] as string[], reports: [] as string[] };
    const watch = (list: string[]) => (query: { sql: string }) => void list.push(query.sql);
    const onRequests = watch(seen.requests);
    const onReports = watch(seen.reports);
    t.db1.on('query', onRequests);
    t.db2.on('query', onRequests);
    t.reports.db1.on('query', onReports);
    t.reports.db2.on('query', onReports);
    try {
      await t.reconcile({ repair: true });
    } finally {
      t.db1.off('query', onRequests);
      t.db2.off('query', onRequests);
      t.reports.db1.off('query', onReports);
      t.reports.db2.off('query', onReports);
    }
    const aggregates = (list: string[]) => list.filter((sql) => /group by/i.test(sql));
    expect(aggregates(seen.reports).length).toBeGreaterThanOrEqual(4);
    expect(aggregates(seen.requests)).toEqual([]);
  });
});
