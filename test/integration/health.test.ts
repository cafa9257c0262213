import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createViewer, createTestPlatform, type TestPlatform } from '../support/platform';
import { PrivateRedis, waitUntil } from '../support/private-redis';

describe('health with everything up', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(() => t.close());

  it('when DB1, DB2 and Redis are up, then /health and every module health are UP with all three components', async () => {
    for (const path of [
      '/health',
      '/anchor/actuator/health',
      '/audience/actuator/health',
      '/finance/actuator/health',
      '/analysis/actuator/health',
    ]) {
      const res = await t.http.get(path).expect(200);
      expect(res.body).toMatchObject({
        status: 'UP',
        components: { db1: { status: 'UP' }, db2: { status: 'UP' }, redis: { status: 'UP' } },
      });
    }
  });
});

describe('health when Redis dies and comes back', () => {
  let t: TestPlatform;
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await createTestPlatform({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t.close();
    await redis.kill();
  });

  it('when Redis is killed, then health shows it DOWN but stays 200 and the API still writes; when it restarts, then it is UP again', async () => {
    // The platform connects to the private Redis in the background (createTestPlatform waits only for the shared one).
    await waitUntil(() => Promise.resolve(t.redis.isUsable()), 'the platform to reach the private Redis');
    const before = await t.http.get('/health');
    // The whole answer on failure: which component was DOWN, and why.
    expect({ status: before.status, components: before.body.components }).toMatchObject({
      status: 200,
      components: { redis: { status: 'UP' } },
    });

    await redis.kill();
    await waitUntil(() => Promise.resolve(!t.redis.isUsable()), 'the platform to see Redis gone');
    const degraded = await t.http.get('/health').expect(200);
    expect(degraded.body.status).toBe('UP');
    expect(degraded.body.components.redis.status).toBe('DOWN');
    const viewerId = await createViewer(t, 'still-works');
    expect(await t.db1('audience').where({ id: viewerId })).toHaveLength(1);

    await redis.restart();
    await waitUntil(async () => (await t.http.get('/health')).body.components.redis.status === 'UP', 'Redis UP in /health', 10_000);
  });

  it('when Redis is frozen (SIGSTOP), then health answers within the probe timeout and reports it DOWN', async () => {
    redis.freeze();
    try {
      const res = await t.http.get('/health').expect(200);
      expect(res.body.components.redis.status).toBe('DOWN');
      expect(res.body.components.db1.status).toBe('UP');
    } finally {
      redis.thaw();
    }
  });
});

describe('health when a database is unreachable', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ DB2_URL: 'mysql://root@127.0.0.1:1/unreachable', DB_ACQUIRE_TIMEOUT_MS: '500' });
  });
  afterAll(() => t.close());

  it('when DB2 is down, then finance and analysis are 503 DOWN while /health, anchor and audience stay UP', async () => {
    const finance = await t.http.get('/finance/actuator/health').expect(503);
    expect(finance.body).toMatchObject({ status: 'DOWN', components: { db2: { status: 'DOWN' }, db1: { status: 'UP' } } });
    await t.http.get('/analysis/actuator/health').expect(503);
    for (const path of ['/health', '/anchor/actuator/health', '/audience/actuator/health']) {
      const res = await t.http.get(path).expect(200);
      expect(res.body.components.db2.status).toBe('DOWN');
    }
  });
});

describe('health without Redis configured', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ REDIS_URL: '' });
  });
  afterAll(() => t.close());

  it('when no REDIS_URL is set, then redis is DISABLED and the service is UP', async () => {
    const res = await t.http.get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'UP', components: { redis: { status: 'DISABLED' } } });
  });
});
