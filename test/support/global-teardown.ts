import knex from 'knex';
import { mysqlConnection, parseMysqlUrl } from '../../src/shared/db/knex';
import { RUN_TAG, TEST_MYSQL_URL, workerRedisUrl } from './environment';
import { deleteRunKeys } from './global-setup';

/** Drops this checkout's test databases and Redis keys, so runs from throwaway clones leave nothing behind. */
export default async function globalTeardown(globalConfig: { maxWorkers: number }): Promise<void> {
  const admin = knex({
    client: 'mysql2',
    connection: mysqlConnection(parseMysqlUrl(`${TEST_MYSQL_URL}/mysql`), false),
    pool: { min: 0, max: 1 },
  });
  try {
    const [rows] = (await admin.raw('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?', [
      `tipping\\_test\\_${RUN_TAG}\\_%`,
    ])) as [Array<{ name: string }>];
    for (const { name } of rows) await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await admin.destroy();
  }
  for (let worker = 1; worker <= Math.max(1, globalConfig.maxWorkers); worker += 1) await deleteRunKeys(workerRedisUrl(worker));
}
