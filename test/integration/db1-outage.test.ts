import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { workerDatabaseUrl } from '../support/environment';
import { createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';
import { PrivateRedis } from '../support/private-redis';
import { TcpProxy } from '../support/tcp-proxy';

/** DB1 reached through a proxy the test can cut: the reward path's own database going away. */
describe('rewards while DB1 is unreachable', () => {
  let proxy: TcpProxy;
  let redis: PrivateRedis;
  let cut: TestPlatform;
  let direct: TestPlatform;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 3306 });
    redis = await PrivateRedis.start();
    cut = await createTestPlatform({
      DB1_URL: workerDatabaseUrl('db1').replace(':3306/', `:${proxy.port}/`),
      DB_ACQUIRE_TIMEOUT_MS: '800',
      REDIS_URL: redis.url,
      RATE_LIMIT_PER_MINUTE: '2',
    });
    direct = await createTestPlatform();
  });

  afterAll(async () => {
    await Promise.all([cut.close(), direct.close()]);
    await proxy.cut();
    await redis.dispose();
  });

  it('when DB1 goes away, then a reward is 503 DEPENDENCY_UNAVAILABLE with Retry-After, nothing is stored, and the same traceId works once DB1 is back', async () => {
    const stage = await liveStage(cut, 1);
    const auth = await cut.auth('service');
    const body = { traceId: newTraceId('DB1'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '6.66' };
    await proxy.cut();
    const started = Date.now();
    const failed = await cut.http.post('/audience/api/v1/recharge').set('Authorization', auth).send(body).expect(503);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(failed.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(failed.headers['retry-after']).toBe('5');
    expect(failed.body).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', status: 503 });
    expect(JSON.stringify(failed.body)).not.toMatch(/ECONNREFUSED|at .*\.js|knex|mysql/i);
    expect(await direct.db1('recharge').where({ trace_id: body.traceId })).toHaveLength(0);
    const health = await cut.http.get('/audience/actuator/health').expect(503);
    expect(health.body.components.db1.status).toBe('DOWN');

    await proxy.restore();
    const retried = await cut.http.post('/audience/api/v1/recharge').set('Authorization', auth).send(body).expect(201);
    expect(await direct.db1('recharge').where({ trace_id: body.traceId })).toHaveLength(1);
    expect(await direct.db1('audience').where({ id: stage.viewerIds[0] }).first()).toMatchObject({ total_amount: 666, reward_count: 1 });
    expect(retried.body.amount).toBe('6.66');
  });

  it('when Redis is down, then the per-viewer rate limit still holds (in-memory) and rewards within it are 201', async () => {
    await proxy.restore();
    const stage = await liveStage(cut, 1);
    await redis.kill();
    try {
      const viewer = await cut.auth('audience', stage.viewerIds[0]);
      const send = () =>
        cut.http
          .post('/audience/api/v1/recharge')
          .set('Authorization', viewer)
          .send({ traceId: newTraceId('RL'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount: '1.00' });
      expect((await send()).status).toBe(201);
      expect((await send()).status).toBe(201);
      const limited = await send();
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('RATE_LIMITED');
      expect(await direct.db1('recharge').where({ live_room_id: stage.roomId })).toHaveLength(2);
    } finally {
      await redis.restart();
    }
  });
});
