import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDb, type Db } from '../../src/shared/db/knex';
import { createTokenService } from '../../src/shared/http/auth';
import { workerDatabaseUrl } from '../support/environment';
import { expectJson, fetchJson, type JsonAnswer } from '../support/fetch-json';
import { TEST_JWT_SECRET } from '../support/platform';
import { distinctFreePorts, PrivateRedis } from '../support/private-redis';
import { instanceEnvironment, ServiceProcess } from '../support/service-process';

/**
 * Exactly-once across processes: two real instances on one DB pair and one Redis get the same
 * traceId at the same moment, round after round. Inside one transaction group the writer's
 * leader/follower dedup absorbs a duplicate before the database sees it; between two instances (or
 * two transactions of one) only the UNIQUE traceId index can, and the writer's duplicate-key path
 * answers from the stored row — counted in reward_insert_races_total, which this test requires to
 * move. With that path broken (a duplicate key answered as an error) rounds get 500s and fail.
 */
const ROUNDS = 50;
const CONCURRENT = 20;
const AMOUNT_FEN = 123;

const tokens = createTokenService(TEST_JWT_SECRET);
let redis: PrivateRedis | undefined;
const instances: ServiceProcess[] = [];
let db1: Db | undefined;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  const env = instanceEnvironment({ REDIS_URL: redis.url, CRON_ENABLED: 'false' });
  const [first, second] = (await distinctFreePorts(2)) as [number, number];
  // Each one kept as soon as it runs, so afterAll stops it even when the other failed to start.
  await Promise.all(
    [
      ['instance A', first],
      ['instance B', second],
    ].map(async ([name, port]) => instances.push(await ServiceProcess.start(String(name), Number(port), env))),
  );
  instances.sort((x, y) => x.name.localeCompare(y.name));
  db1 = createDb(workerDatabaseUrl('db1'), { poolMax: 2, acquireTimeoutMs: 5000 });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(instances.map((instance) => instance.kill()));
  await Promise.allSettled([redis?.dispose(), db1?.destroy()]);
});

function database(): Db {
  if (!db1) throw new Error('no DB1 connection');
  return db1;
}

async function insertRaces(instance: ServiceProcess): Promise<number> {
  const metrics = await fetchJson<string>(instance.url, 'GET', '/actuator/prometheus');
  const line = metrics.body.split('\n').find((l) => l.startsWith('reward_insert_races_total '));
  if (!line) throw new Error(`${instance.name} exposes no reward_insert_races_total`);
  return Number(line.split(' ')[1]);
}

describe('one traceId sent to two instances at once', () => {
  it(`when ${ROUNDS} rounds of ${CONCURRENT} identical requests are split across two instances, then each traceId is one row, one answer 201 and the rest 200 with the same body, and the database's UNIQUE fallback did the deduplicating`, async () => {
    const [a, b] = instances as [ServiceProcess, ServiceProcess];
    const admin = `Bearer ${await tokens.sign({ role: 'admin', id: 1 }, 3600)}`;
    const service = `Bearer ${await tokens.sign({ role: 'service', id: 1 }, 3600)}`;
    const { anchorId } = await expectJson<{ anchorId: number }>(201, a.url, 'POST', '/anchor/api/v1/anchors', {
      auth: admin,
      body: { name: 'Race anchor' },
    });
    const { liveRoomId } = await expectJson<{ liveRoomId: number }>(201, a.url, 'POST', '/anchor/api/v1/live-rooms', {
      auth: admin,
      body: { anchorId, title: 'Race room' },
    });
    await expectJson(200, a.url, 'POST', `/anchor/api/v1/live-rooms/${liveRoomId}/start`, { auth: admin });
    const { audienceId } = await expectJson<{ audienceId: number }>(201, b.url, 'POST', '/audience/api/v1/audiences', {
      auth: admin,
      body: { nickname: 'Race viewer' },
    });
    const racesBefore = (await insertRaces(a)) + (await insertRaces(b));

    const runTag = `E2E-RACE-${process.pid}-${Date.now().toString(36)}`;
    const traceIds: string[] = [];
    const wrong: Array<{ round: number; statuses: number[]; bodies: number }> = [];
    const createdBy = { a: 0, b: 0 };
    for (let round = 0; round < ROUNDS; round += 1) {
      const traceId = `${runTag}-${round}`;
      traceIds.push(traceId);
      const body = { traceId, audienceId, liveRoomId, amount: (AMOUNT_FEN / 100).toFixed(2) };
      const answers: Array<JsonAnswer<Record<string, unknown>>> = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) =>
          fetchJson<Record<string, unknown>>((i % 2 === 0 ? a : b).url, 'POST', '/audience/api/v1/recharge', { auth: service, body }),
        ),
      );
      const statuses = answers.map((answer) => answer.status);
      const bodies = new Set(answers.map((answer) => JSON.stringify(answer.body)));
      const created = statuses.filter((status) => status === 201).length;
      const replayed = answers.filter((answer) => answer.status === 200 && answer.headers.get('idempotent-replayed') === 'true').length;
      if (created !== 1 || replayed !== CONCURRENT - 1 || bodies.size !== 1) wrong.push({ round, statuses, bodies: bodies.size });
      const winner = statuses.indexOf(201);
      if (winner >= 0) createdBy[winner % 2 === 0 ? 'a' : 'b'] += 1;
    }
    expect(wrong).toEqual([]);

    const rows: Array<{ trace_id: string; n: number }> = await database()('recharge')
      .whereIn('trace_id', traceIds)
      .groupBy('trace_id')
      .select('trace_id', database().raw('COUNT(*) AS n'));
    expect(rows.filter((row) => Number(row.n) !== 1)).toEqual([]);
    expect(rows).toHaveLength(ROUNDS);
    const viewer = await database()('audience').where({ id: audienceId }).first('total_amount', 'reward_count');
    expect({ total: Number(viewer?.total_amount), count: Number(viewer?.reward_count) }).toEqual({
      total: ROUNDS * AMOUNT_FEN,
      count: ROUNDS,
    });

    const races = (await insertRaces(a)) + (await insertRaces(b)) - racesBefore;
    process.stdout.write(
      `e2e exactly-once: ${ROUNDS} rounds x ${CONCURRENT} requests, 201 answered by A ${createdBy.a} / B ${createdBy.b} times, ${races} INSERTs lost the UNIQUE traceId race and were answered from the stored row\n`,
    );
    expect(races).toBeGreaterThan(0);
  });
});
