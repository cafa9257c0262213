import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { loadConfig, type Environment } from '../../src/shared/config';
import type { Role } from '../../src/shared/http/auth';
import { createLogger } from '../../src/shared/logger';
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
