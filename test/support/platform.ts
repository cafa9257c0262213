import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { loadConfig, type Environment } from '../../src/shared/config';
import type { Role } from '../../src/shared/http/auth';
import { createLogger } from '../../src/shared/logger';
import { waitForRedis } from '../../src/shared/redis';
import type { Clock } from '../../src/shared/module';
import { createPlatform, type Platform, type PlatformOptions } from '../../src/platform';
import { REDIS_KEY_PREFIX, workerDatabaseUrl, workerRedisUrl } from './environment';

export const TEST_JWT_SECRET = 'test-secret-0123456789-0123456789-abcdef';

export interface TestPlatform extends Platform {
  http: TestAgent;
  token(role: Role, id?: number): Promise<string>;
  /** `Authorization` header value for the role. */
  auth(role: Role, id?: number): Promise<string>;
}

/** The worker's MariaDB databases and Redis db, overridable per test (e.g. a private Redis to kill). */
export function testEnvironment(overrides: Environment = {}): Environment {
  return {
    NODE_ENV: 'test',
    DB1_URL: workerDatabaseUrl('db1'),
    DB2_URL: workerDatabaseUrl('db2'),
    REDIS_URL: workerRedisUrl(),
    REDIS_KEY_PREFIX,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    AUTO_MIGRATE: 'false',
    CRON_ENABLED: 'false',
    RATE_LIMIT_PER_MINUTE: '0',
    ...overrides,
  };
}

export async function createTestPlatform(
  overrides: Environment = {},
  options: { clock?: Clock; logLines?: string[]; clientDecorators?: PlatformOptions['clientDecorators'] } = {},
): Promise<TestPlatform> {
  const config = loadConfig(testEnvironment(overrides));
  const lines = options.logLines;
  const logger = lines ? createLogger('debug', { write: (line: string) => lines.push(line) }) : createLogger(config.logLevel);
  const platform = await createPlatform(config, {
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.clientDecorators ? { clientDecorators: options.clientDecorators } : {}),
  });
  // The service starts degraded when Redis takes over a second to connect (a loaded machine): on the
  // worker's shared Redis, which is up, a test starts once the connection is ready, as it assumes.
  if (overrides['REDIS_URL'] === undefined && platform.redis.client) await waitForRedis(platform.redis, 10_000);
  const token = (role: Role, id = 1) => platform.tokens.sign({ role, id }, 3600);
  return Object.assign(platform, {
    http: request(platform.app),
    token,
    auth: async (role: Role, id = 1) => `Bearer ${await token(role, id)}`,
  });
}

/** Small fixtures that go through the API, as a client would. */
export async function createAnchor(t: TestPlatform, name = 'Alice'): Promise<number> {
  const res = await t.http
    .post('/anchor/api/v1/anchors')
    .set('Authorization', await t.auth('admin'))
    .send({ name })
    .expect(201);
  return (res.body as { anchorId: number }).anchorId;
}

export async function createRoom(t: TestPlatform, anchorId: number, title = 'Evening show'): Promise<number> {
  const res = await t.http
    .post('/anchor/api/v1/live-rooms')
    .set('Authorization', await t.auth('admin'))
    .send({ anchorId, title })
    .expect(201);
  return (res.body as { liveRoomId: number }).liveRoomId;
}

export async function createViewer(t: TestPlatform, nickname = 'Bob'): Promise<number> {
  const res = await t.http
    .post('/audience/api/v1/audiences')
    .set('Authorization', await t.auth('admin'))
    .send({ nickname })
    .expect(201);
  return (res.body as { audienceId: number }).audienceId;
}

export async function startRoom(t: TestPlatform, roomId: number): Promise<void> {
  await t.http
    .post(`/anchor/api/v1/live-rooms/${roomId}/start`)
    .set('Authorization', await t.auth('admin'))
    .expect(200);
}

/** An anchor with a LIVE room and `viewers` viewers: the usual stage for a reward test. */
export async function liveStage(t: TestPlatform, viewers = 1): Promise<{ anchorId: number; roomId: number; viewerIds: number[] }> {
  const anchorId = await createAnchor(t);
  const roomId = await createRoom(t, anchorId);
  await startRoom(t, roomId);
  const viewerIds: number[] = [];
  for (let i = 0; i < viewers; i += 1) viewerIds.push(await createViewer(t, `viewer-${i}`));
  return { anchorId, roomId, viewerIds };
}

let traceCounter = 0;
/** A trace id unique across test files and runs. */
export function newTraceId(prefix = 'T'): string {
  traceCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${traceCounter}`;
}

/**
 * An anchor whose available balance is exactly `available` (an amount string): one reward of twice
 * that, settled by the sync at the default rate 0.5000.
 */
export async function fundedAnchor(t: TestPlatform, available: string): Promise<{ anchorId: number; roomId: number; viewerIds: number[] }> {
  const stage = await liveStage(t, 1);
  const fen = Math.round(Number(available) * 100) * 2;
  await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('service'))
    .send({
      traceId: newTraceId('FUND'),
      audienceId: stage.viewerIds[0],
      liveRoomId: stage.roomId,
      amount: `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`,
    })
    .expect(201);
  await t.runSync();
  const balance = (
    await t.http
      .get(`/finance/api/v1/balances/${stage.anchorId}`)
      .set('Authorization', await t.auth('admin'))
      .expect(200)
  ).body as {
    available: string;
  };
  if (balance.available !== available)
    throw new Error(`anchor ${stage.anchorId} holds ${balance.available}, not ${available}, after the sync`);
  return stage;
}

/**
 * Stores rewards through the batch endpoint as a careful client does: a 503 (the anchor module did
 * not answer a room check in time on a loaded machine) may have stored part of the batch, so the
 * same items are sent again, and the stored ones answer as replays. Gives every item's rechargeId,
 * in order; fails on any other answer.
 */
export async function storeBatch(t: TestPlatform, items: readonly object[], attempts = 5): Promise<number[]> {
  const auth = await t.auth('service');
  for (let attempt = 1; ; attempt += 1) {
    const res = await t.http.post('/audience/api/v1/recharge/batch').set('Authorization', auth).send({ items });
    if (res.status === 503 && attempt < attempts) {
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      continue;
    }
    if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
    const results = (res.body as { results: Array<{ status: number; rechargeId?: number }> }).results;
    const refused = results.filter((r) => r.status !== 201 && r.status !== 200);
    if (refused.length > 0 && refused.every((r) => r.status === 503) && attempt < attempts) continue;
    if (refused.length > 0) throw new Error(`batch items refused: ${JSON.stringify(refused.slice(0, 3))}`);
    return results.map((r) => r.rechargeId as number);
  }
}

/** A platform on the embedded default: SQLite files in a temporary directory of its own, no Redis. `close` also removes the files. */
export async function createSqlitePlatform(name: string, options: { clock?: Clock } = {}): Promise<TestPlatform> {
  const dir = mkdtempSync(join(tmpdir(), `tipping-${name}-`));
  const t = await createTestPlatform(
    {
      DB1_URL: `sqlite:${join(dir, 'db1.sqlite')}`,
      DB2_URL: `sqlite:${join(dir, 'db2.sqlite')}`,
      REDIS_URL: undefined,
      AUTO_MIGRATE: 'true',
    },
    options,
  );
  const close = t.close.bind(t);
  return Object.assign(t, {
    close: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
