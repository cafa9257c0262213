import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import knex from 'knex';
import { mysqlConnection, parseMysqlUrl } from '../../src/shared/db/knex';
import { createTokenService } from '../../src/shared/http/auth';
import { TEST_MYSQL_URL, workerDatabaseName } from '../support/environment';
import { TEST_JWT_SECRET } from '../support/platform';

const ROOT = resolve(__dirname, '../..');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
const run = promisify(execFile);

const cliDb1 = workerDatabaseName('cli_db1');
const cliDb2 = workerDatabaseName('cli_db2');

function cli(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, ['--import', TSX_LOADER, resolve(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', ...env },
  });
}

const admin = knex({
  client: 'mysql2',
  connection: mysqlConnection(parseMysqlUrl(`${TEST_MYSQL_URL}/mysql`), false),
  pool: { min: 0, max: 1 },
});

afterAll(async () => {
  await admin.raw(`DROP DATABASE IF EXISTS \`${cliDb1}\``);
  await admin.raw(`DROP DATABASE IF EXISTS \`${cliDb2}\``);
  await admin.destroy();
});

describe('admin CLI', () => {
  it('when asked for a token, then it prints a JWT the service accepts with that role, subject and lifetime', async () => {
    const { stdout } = await cli(['token', '--role', 'anchor', '--sub', '42', '--ttl', '15m']);
    const token = stdout.trim();
    expect(await createTokenService(TEST_JWT_SECRET).verify(token)).toEqual({ role: 'anchor', id: 42 });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    expect(payload.exp - payload.iat).toBe(900);
  });

  it('when the role or ttl is invalid, then it exits non-zero and says why', async () => {
    await expect(cli(['token', '--role', 'root'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('must be one of audience, anchor, admin, service, internal'),
    });
    await expect(cli(['token', '--role', 'admin', '--ttl', 'forever'])).rejects.toMatchObject({ code: 1 });
  });

  it('when migrate runs against missing MySQL databases, then it creates and migrates them, and a second run changes nothing', async () => {
    await admin.raw(`DROP DATABASE IF EXISTS \`${cliDb1}\``);
    await admin.raw(`DROP DATABASE IF EXISTS \`${cliDb2}\``);
    const env = { DB1_URL: `${TEST_MYSQL_URL}/${cliDb1}`, DB2_URL: `${TEST_MYSQL_URL}/${cliDb2}` };
    await cli(['migrate'], env);
    const [tables1] = (await admin.raw('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [
      cliDb1,
    ])) as [Array<{ t: string }>];
    expect(tables1.map((r) => r.t)).toEqual(
      expect.arrayContaining(['anchor', 'audience', 'live_room', 'live_room_realtime', 'live_session', 'recharge']),
    );
    const [tables2] = (await admin.raw('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [
      cliDb2,
    ])) as [Array<{ t: string }>];
    expect(tables2.map((r) => r.t)).toEqual(
      expect.arrayContaining(['anchor_balance', 'balance_ledger', 'commission_rate', 'settlement', 'settlement_detail', 'withdrawal']),
    );
    const [charset] = (await admin.raw('SELECT DEFAULT_CHARACTER_SET_NAME AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [
      cliDb1,
    ])) as [Array<{ c: string }>];
    expect(charset[0]?.c).toBe('utf8mb4');

    const again = await cli(['migrate'], env);
    expect(again.stdout).toContain('migrations are up to date');
  });

  it('when sync run, realtime flush and reconcile run with logging on, then stdout is only their JSON and the logs go to stderr', async () => {
    const env = { DB1_URL: `${TEST_MYSQL_URL}/${cliDb1}`, DB2_URL: `${TEST_MYSQL_URL}/${cliDb2}`, LOG_LEVEL: 'info' };
    await cli(['migrate'], env);
    const sync = await cli(['sync', 'run'], env);
    expect(JSON.parse(sync.stdout)).toEqual({ synced: 0, batches: 0, pending: 0 });
    const flush = await cli(['realtime', 'flush'], env);
    expect(JSON.parse(flush.stdout)).toEqual({ rooms: 0 });
    const reconcile = await cli(['reconcile', '--repair'], env);
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ clean: true, realtime: { drifted: [] }, finance: { drifted: [] } });
    expect(reconcile.stderr).toContain('"msg":"reconciliation clean"');
  });

  it('when the configuration is invalid, then it exits non-zero naming the variable', async () => {
    await expect(cli(['migrate'], { DB1_URL: 'postgres://nope' })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('DB1_URL'),
    });
  });
});
