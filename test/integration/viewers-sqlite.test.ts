import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testClock } from '../support/clock';
import { createTestPlatform, createViewer, liveStage, newTraceId, type TestPlatform } from '../support/platform';

/** The viewer endpoints and the daily reward cap on the embedded default: SQLite files, no Redis. */
let dir: string;
let t: TestPlatform;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tipping-sqlite-viewers-'));
  t = await createTestPlatform(
    {
      DB1_URL: `sqlite:${join(dir, 'db1.sqlite')}`,
      DB2_URL: `sqlite:${join(dir, 'db2.sqlite')}`,
      REDIS_URL: undefined,
      AUTO_MIGRATE: 'true',
      DAILY_REWARD_CAP: '100.00',
    },
    { clock: testClock() },
  );
});

afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('viewers on SQLite', () => {
  it('when a viewer is made anonymous and renamed, then the flag and the name are stored and read back', async () => {
    const id = await createViewer(t, 'Lite');
    const res = await t.http
      .patch(`/audience/api/v1/audiences/${id}`)
      .set('Authorization', await t.auth('audience', id))
      .send({ nickname: ' Lite2 ', anonymous: true })
      .expect(200);
    expect(res.body).toMatchObject({ audienceId: id, nickname: 'Lite2', anonymous: true });
    expect(await t.db1('audience').where({ id }).first()).toMatchObject({ nickname: 'Lite2', anonymous: 1 });
  });

  it('when listing by a keyword in another case or holding % and _, then the matches are exactly those, newest first', async () => {
    const ids = [await createViewer(t, 'Case-Lite a%b'), await createViewer(t, 'case-lite a_b'), await createViewer(t, 'CASE-LITE axb')];
    const list = async (keyword: string) =>
      (
        await t.http
          .get(`/audience/api/v1/audiences?keyword=${encodeURIComponent(keyword)}`)
          .set('Authorization', await t.auth('admin'))
          .expect(200)
      ).body as { items: Array<{ audienceId: number }>; total: number };
    const all = await list('cAsE-lItE');
    expect([all.total, all.items.map((v) => v.audienceId)]).toEqual([3, [...ids].reverse()]);
    expect((await list('a%b')).items.map((v) => v.audienceId)).toEqual([ids[0]]);
    expect((await list('a_b')).items.map((v) => v.audienceId)).toEqual([ids[1]]);
  });

  it('when 30 rewards of 10.00 race against a cap of 100.00, then exactly 10 are stored and the rest are 409 DAILY_LIMIT_EXCEEDED', async () => {
    const { roomId, viewerIds } = await liveStage(t);
    const audienceId = viewerIds[0]!;
    const auth = await t.auth('audience', audienceId);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        t.http
          .post('/audience/api/v1/recharge')
          .set('Authorization', auth)
          .send({ traceId: newTraceId('SQC'), audienceId, liveRoomId: roomId, amount: '10.00' }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(10);
    expect(answers.filter((a) => a.status === 409 && a.body.code === 'DAILY_LIMIT_EXCEEDED')).toHaveLength(20);
    const sum = await t.db1('recharge').where({ audience_id: audienceId }).count({ n: '*' }).sum({ s: 'amount' }).first();
    expect([Number(sum?.['n']), Number(sum?.['s'])]).toEqual([10, 10000]);
    expect(await t.db1('audience_daily_reward').where({ audience_id: audienceId })).toEqual([
      { audience_id: audienceId, reward_day: '2026-11-11', amount: 10000 },
    ]);
    const viewer = await t.db1('audience').where({ id: audienceId }).first();
    expect([viewer.total_amount, viewer.reward_count]).toEqual([10000, 10]);
  });
});
