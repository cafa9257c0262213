import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testClock } from '../support/clock';
import { get, makeAnonymous, sendReward } from '../support/insights';
import { createSqlitePlatform, liveStage, type TestPlatform } from '../support/platform';

/** The anchor insights on the embedded default (SQLite files, no Redis): the same SQL must run there. */
let t: TestPlatform;
const clock = testClock(new Date('2026-11-11T04:00:00.000Z'));

beforeAll(async () => {
  t = await createSqlitePlatform('sqlite-insights', { clock });
});

afterAll(() => t.close());

describe('anchor insights on the embedded SQLite default', () => {
  it('when viewers reward an anchor, then stats, top supporters, ranking, contributors and summary answer as on MariaDB', async () => {
    const { anchorId, roomId, viewerIds } = await liveStage(t, 3);
    const [a, b, c] = viewerIds as [number, number, number];
    await makeAnonymous(t, c);
    clock.stopAt(new Date('2026-11-01T00:00:00.000Z'));
    await sendReward(t, roomId, a, '1.00');
    clock.stopAt(new Date('2026-11-11T04:00:00.000Z'));
    await sendReward(t, roomId, a, '2.50');
    await sendReward(t, roomId, b, '10.00');
    await sendReward(t, roomId, c, '0.01');
    const auth = await t.auth('anchor', anchorId);

    expect((await get(t, `/anchors/${anchorId}/stats`, auth).expect(200)).body).toEqual({
      anchorId,
      totalEarnings: '13.51',
      rewardCount: 4,
      supporterCount: 3,
    });
    const day = (await get(t, `/anchors/${anchorId}/top-supporters?period=day`, auth).expect(200)).body;
    expect(day.items).toEqual([
      { rank: 1, audienceId: b, nickname: 'viewer-1', totalAmount: '10.00', rewardCount: 1 },
      { rank: 2, audienceId: a, nickname: 'viewer-0', totalAmount: '2.50', rewardCount: 1 },
      { rank: 3, audienceId: null, nickname: null, totalAmount: '0.01', rewardCount: 1 },
    ]);
    const ranking = (await get(t, '/anchors/ranking?period=month').expect(200)).body;
    expect(ranking.items).toEqual([{ rank: 1, anchorId, name: 'Alice', totalEarnings: '13.51', rewardCount: 4 }]);
    const contributors = (await get(t, `/live-rooms/${roomId}/top-contributors?limit=1`, auth).expect(200)).body;
    expect(contributors.items).toEqual([{ rank: 1, audienceId: b, nickname: 'viewer-1', totalAmount: '10.00', rewardCount: 1 }]);
    const summary = (await get(t, `/anchors/${anchorId}/supporters/summary?from=2026-11-05T00:00:00Z`, auth).expect(200)).body;
    expect(summary).toMatchObject({
      supporterCount: 3,
      newSupporters: 2,
      returningSupporters: 1,
      totalEarnings: '12.51',
      newSupporterEarnings: '10.01',
      returningSupporterEarnings: '2.50',
      top10Earnings: '12.51',
      top10Share: '1.0000',
    });
  });
});
