import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testClock } from '../support/clock';
import { sendReward } from '../support/insights';
import { createSqlitePlatform, liveStage, type TestPlatform } from '../support/platform';

/** The analytics reports on the embedded default (SQLite files, no Redis): the same SQL (minutes, buckets) must run there. */
let t: TestPlatform;
const clock = testClock(new Date('2026-11-11T04:00:00.000Z'));
const AN = '/analysis/api/v1';
const range = { from: '2026-11-10T16:00:00.000Z', to: '2026-11-11T16:00:00.000Z' };

beforeAll(async () => {
  t = await createSqlitePlatform('sqlite-analytics', { clock });
});

afterAll(() => t.close());

describe('analytics on the embedded SQLite default', () => {
  it('when a day of rewards is reported, then overview, trend, rankings, the room report and the distribution answer as on MariaDB', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t, 2);
    const [a, b] = viewerIds as [number, number];
    clock.stopAt(new Date('2026-11-11T02:10:15.000Z'));
    await sendReward(t, roomId, a, '3.00');
    clock.stopAt(new Date('2026-11-11T02:10:45.000Z'));
    await sendReward(t, roomId, b, '4.00');
    clock.stopAt(new Date('2026-11-11T05:00:00.000Z'));
    await sendReward(t, roomId, a, '12.00');
    await t.runSync();
    const admin = await t.auth('admin');
    const get = async (path: string, query: object = range) =>
      (await t.http.get(`${AN}${path}`).query(query).set('Authorization', admin).expect(200)).body;

    expect(await get('/overview')).toMatchObject({
      totalAmount: '19.00',
      rewardCount: 3,
      payingViewers: 2,
      arppu: '9.50',
      platformRevenue: '9.50',
    });
    const hours = (await get('/trend', { ...range, bucket: 'hour' })).items as Array<{ start: string; totalAmount: string }>;
    expect(hours).toHaveLength(24);
    expect(hours.filter((h) => h.totalAmount !== '0.00')).toEqual([
      { start: '2026-11-11T02:00:00.000Z', totalAmount: '7.00', rewardCount: 2 },
      { start: '2026-11-11T05:00:00.000Z', totalAmount: '12.00', rewardCount: 1 },
    ]);
    expect((await get('/anchors/ranking')).items).toEqual([
      expect.objectContaining({ rank: 1, anchorId, totalAmount: '19.00', rewardCount: 3 }),
    ]);
    expect(
      (await get('/viewers/ranking')).items.map((v: { audienceId: number; totalAmount: string }) => [v.audienceId, v.totalAmount]),
    ).toEqual([
      [a, '15.00'],
      [b, '4.00'],
    ]);
    expect(await get(`/live-rooms/${roomId}/report`)).toMatchObject({
      totalAmount: '19.00',
      peakMinute: { start: '2026-11-11T05:00:00.000Z', totalAmount: '12.00', rewardCount: 1 },
    });
    const buckets = (await get('/distribution')).buckets as Array<{ min: string; rewardCount: number }>;
    expect(buckets.map((x) => x.rewardCount)).toEqual([0, 2, 1, 0, 0, 0]);
  });
});
