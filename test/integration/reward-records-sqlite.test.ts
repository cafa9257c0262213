import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestPlatform, type TestPlatform } from '../support/platform';
import { asRecord, newestFirst, recordStage, seedRewards } from '../support/reward-records';

/** The reward records on the embedded default (SQLite): the same SQL, without MariaDB's index hints. */

let dir: string;
let t: TestPlatform;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tipping-sqlite-records-'));
  t = await createTestPlatform({
    DB1_URL: `sqlite:${join(dir, 'db1.sqlite')}`,
    DB2_URL: `sqlite:${join(dir, 'db2.sqlite')}`,
    REDIS_URL: undefined,
    AUTO_MIGRATE: 'true',
  });
});

afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reward records on SQLite', () => {
  it('when listed, summed per day and exported, then the same answers as on MariaDB', async () => {
    const s = await recordStage(t);
    const [v1, v2] = s.viewerIds;
    const seeded = await seedRewards(t, s.anchorId, [
      { at: '2026-03-01T15:59:59.999Z', fen: 1_001, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-03-01T16:00:00.000Z', fen: 2_002, audienceId: v1, liveRoomId: s.roomId },
      { at: '2026-03-02T03:00:00.000Z', fen: 3_003, audienceId: v2, liveRoomId: s.otherRoomId },
    ]);
    const auth = await t.auth('anchor', s.anchorId);
    const page = await t.http
      .get(`/anchor/api/v1/anchors/${s.anchorId}/rewards`)
      .query({ pageSize: 2, page: 2 })
      .set('Authorization', auth);
    expect(page.status).toBe(200);
    expect(page.body).toEqual({ items: [asRecord(newestFirst(seeded)[2]!)], page: 2, pageSize: 2, total: 3 });

    const daily = await t.http
      .get(`/anchor/api/v1/anchors/${s.anchorId}/rewards/daily`)
      .query({ from: '2026-03-01', to: '2026-03-04' })
      .set('Authorization', auth)
      .expect(200);
    expect(daily.body.items).toEqual([
      { day: '2026-03-01', totalAmount: '10.01', rewardCount: 1, supporterCount: 1 },
      { day: '2026-03-02', totalAmount: '50.05', rewardCount: 2, supporterCount: 2 },
      { day: '2026-03-03', totalAmount: '0.00', rewardCount: 0, supporterCount: 0 },
    ]);

    const csv = await t.http.get(`/anchor/api/v1/anchors/${s.anchorId}/rewards.csv`).set('Authorization', auth).expect(200);
    expect(csv.text.trim().split('\n')).toEqual([
      'rechargeId,traceId,createdAt,liveRoomId,audienceId,amount,status',
      ...seeded.map(
        (r) => `${r.rechargeId},${r.traceId},${r.createdAt},${r.liveRoomId},${r.audienceId},${(r.fen / 100).toFixed(2)},SUCCESS`,
      ),
    ]);
  });
});
