import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Counter } from 'prom-client';
import { testClock } from '../support/clock';
import { planOf, rewardQueriesOf, type PlanRow } from '../support/explain';
import { get, markAnchorDeleted, sendReward, storedTotals } from '../support/insights';
import { createAnchor, createRoom, createTestPlatform, createViewer, liveStage, startRoom, type TestPlatform } from '../support/platform';

// The ranking spans every anchor of the worker's database, so each test ranks a calendar day no other
// test rewards in (years ahead), on a clock stopped there.
const clock = testClock();
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform({}, { clock });
});
afterAll(() => t.close());

interface RankingBody {
  period: string;
  from: string | null;
  to: string | null;
  items: Array<{ rank: number; anchorId: number; name: string; totalEarnings: string; rewardCount: number }>;
}

async function ranking(query: string): Promise<RankingBody> {
  return (await get(t, `/anchors/ranking?${query}`).expect(200)).body as RankingBody;
}

/** An anchor with a LIVE room: the room's id. */
async function anchorRoom(name: string): Promise<{ anchorId: number; roomId: number }> {
  const anchorId = await createAnchor(t, name);
  const roomId = await createRoom(t, anchorId);
  await startRoom(t, roomId);
  return { anchorId, roomId };
}

async function cacheRequests(cache: string): Promise<{ hit: number; miss: number }> {
  const counter = t.metrics.registry.getSingleMetric('cache_requests_total') as Counter<'cache' | 'result'>;
  const values = (await counter.get()).values.filter((v) => v.labels.cache === cache);
  const of = (result: string) => values.find((v) => v.labels.result === result)?.value ?? 0;
  return { hit: of('hit'), miss: of('miss') };
}

describe('GET /anchors/ranking', () => {
  it('when anchors earn on one day, then they rank by earnings, ties to the earlier first reward, deleted ones left out, disabled ones kept', async () => {
    const noon = new Date('2037-02-11T04:00:00.000Z'); // Wednesday 11 February 2037, 12:00 in Shanghai
    const at = (ms: number) => clock.stopAt(new Date(noon.getTime() + ms));
    const viewer = await createViewer(t, 'Fan');
    const first = await anchorRoom('First');
    const tied = await anchorRoom('Tied');
    const deleted = await anchorRoom('Gone');
    const disabled = await anchorRoom('Benched');
    at(1000);
    await sendReward(t, first.roomId, viewer, '300.00');
    at(2000);
    await sendReward(t, tied.roomId, viewer, '100.00');
    await sendReward(t, deleted.roomId, viewer, '1000.00');
    await sendReward(t, disabled.roomId, viewer, '0.01');
    at(3000);
    await sendReward(t, tied.roomId, viewer, '200.00');
    // The day before (Tuesday, same week) must not count.
    at(-13 * 3600_000);
    await sendReward(t, disabled.roomId, viewer, '5000.00');
    at(4000);
    await markAnchorDeleted(t, deleted.anchorId);
    await t.db1('anchor').where({ id: disabled.anchorId }).update({ status: 'DISABLED' });

    const day = await ranking('period=day');

    expect(day).toEqual({
      period: 'day',
      from: '2037-02-10T16:00:00.000Z',
      to: '2037-02-11T16:00:00.000Z',
      items: [
        { rank: 1, anchorId: first.anchorId, name: 'First', totalEarnings: '300.00', rewardCount: 1 },
        { rank: 2, anchorId: tied.anchorId, name: 'Tied', totalEarnings: '300.00', rewardCount: 2 },
        { rank: 3, anchorId: disabled.anchorId, name: 'Benched', totalEarnings: '0.01', rewardCount: 1 },
      ],
    });
    expect((await storedTotals(t, { anchor_id: tied.anchorId })).fen).toBe(30_000);
    expect((await ranking('period=day&limit=2')).items.map((i) => i.anchorId)).toEqual([first.anchorId, tied.anchorId]);
    const week = await ranking('period=week');
    expect([week.from, week.to]).toEqual(['2037-02-08T16:00:00.000Z', '2037-02-15T16:00:00.000Z']);
    expect(week.items[0]).toMatchObject({ anchorId: disabled.anchorId, totalEarnings: '5000.01', rewardCount: 2 });
  });

  it('when more than a page of top anchors includes deleted ones, then the list is filled from the next page', async () => {
    clock.stopAt(new Date('2037-03-11T04:00:00.000Z'));
    const viewer = await createViewer(t, 'Patron');
    const anchors: number[] = [];
    // Anchor i earns 200 - i yuan: the two best are deleted, so ranks 1..100 are anchors 2..101.
    for (let i = 0; i < 102; i += 1) {
      const { anchorId, roomId } = await anchorRoom(`Anchor ${i}`);
      await sendReward(t, roomId, viewer, `${200 - i}.00`);
      anchors.push(anchorId);
    }
    await markAnchorDeleted(t, anchors[0]!);
    await markAnchorDeleted(t, anchors[1]!);

    const day = await ranking('period=day&limit=100');

    expect(day.items).toHaveLength(100);
    expect(day.items.map((i) => i.anchorId)).toEqual(anchors.slice(2));
    expect(day.items[99]).toEqual({ rank: 100, anchorId: anchors[101], name: 'Anchor 101', totalEarnings: '99.00', rewardCount: 1 });
  });

  it('when the ranking is asked twice within the cache lifetime, then the second is a hit; public; /anchors/ranking is no anchor id', async () => {
    clock.stopAt(new Date('2037-04-15T04:00:00.000Z'));
    const before = await cacheRequests('anchor-ranking');
    const once = await ranking('period=month&limit=5');
    const twice = await ranking('period=month&limit=1');
    expect(twice.items).toEqual(once.items.slice(0, 1));
    expect(await cacheRequests('anchor-ranking')).toEqual({ hit: before.hit + 1, miss: before.miss + 1 });
    await get(t, '/anchors/ranking', await t.auth('admin')).expect(200);
    const all = await ranking('');
    expect([all.period, all.from, all.to]).toEqual(['all', null, null]);
    for (const bad of ['period=year', 'limit=0', 'limit=101', 'limit=x']) {
      expect((await get(t, `/anchors/ranking?${bad}`).expect(400)).body.code).toBe('VALIDATION_FAILED');
    }
  });
});

/** Runs `request` and returns the statements it sent DB1 that read `recharge` or `audience`, with their bindings. */
describe('query plans on MariaDB (EXPLAIN of the statements each endpoint sends)', () => {
  // A platform of its own with a 1 ms cache, so every request below reaches the database.
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform({ TOP10_CACHE_TTL_MS: '1' }, { clock });
  });
  afterAll(() => t.close());

  it('when each insight is asked, then every read of recharge and audience uses a named index, none a full scan', async () => {
    clock.stopAt(new Date('2037-05-13T04:00:00.000Z'));
    const { anchorId, roomId, viewerIds } = await liveStage(t, 2);
    for (const viewer of viewerIds) await sendReward(t, roomId, viewer, '1.00');
    const auth = await t.auth('admin');
    // A query bounded in time may also be served by a time index: the optimizer takes it when the
    // time range holds fewer rows than the anchor's or room's (as here, where a test's rewards are few).
    const byTime = ['idx_recharge_time', 'idx_recharge_time_anchor'];
    const cases: Array<[string, string, string[]]> = [
      ['stats', `/anchors/${anchorId}/stats`, ['idx_recharge_anchor_viewer']],
      ['top supporters, all', `/anchors/${anchorId}/top-supporters`, ['idx_recharge_anchor_viewer']],
      [
        'top supporters, day',
        `/anchors/${anchorId}/top-supporters?period=day`,
        ['idx_recharge_anchor_time', 'idx_recharge_anchor_viewer', ...byTime],
      ],
      ['ranking, day', '/anchors/ranking?period=day', ['idx_recharge_time_anchor']],
      ['ranking, all', '/anchors/ranking?period=all', ['idx_recharge_anchor_viewer']],
      ['room contributors, all', `/live-rooms/${roomId}/top-contributors`, ['idx_recharge_room_time']],
      [
        'room contributors, range',
        `/live-rooms/${roomId}/top-contributors?from=2037-05-13T00:00:00Z`,
        ['idx_recharge_room_time', ...byTime],
      ],
      [
        'supporter summary',
        `/anchors/${anchorId}/supporters/summary?from=2037-05-13T00:00:00Z`,
        ['idx_recharge_anchor_time', 'idx_recharge_anchor_viewer', ...byTime],
      ],
    ];
    const plans: Record<string, Array<Pick<PlanRow, 'table' | 'type' | 'key'>>> = {};
    for (const [name, path, keys] of cases) {
      const queries = await rewardQueriesOf(t, () => get(t, path, auth).expect(200));
      expect({ name, sent: queries.length > 0 }).toEqual({ name, sent: true });
      for (const query of queries) {
        // Derived tables (`<derived2>`) are the grouped rows themselves, read in full by design.
        const reads = (await planOf(t, query)).filter((row) => !row.table.startsWith('<'));
        plans[name] = [...(plans[name] ?? []), ...reads.map(({ table, type, key }) => ({ table, type, key }))];
        for (const read of reads) {
          expect({ name, table: read.table, fullScan: read.type === 'ALL' }).toEqual({ name, table: read.table, fullScan: false });
          // Viewers' names by id, and the refund probe (is this reward refunded?) by the refund table's primary key.
          const allowed = read.table === 'audience' || /^(recharge_refund|rf|\w+_rf)$/.test(read.table) ? ['PRIMARY'] : keys;
          expect({ name, table: read.table, key: allowed.includes(read.key ?? '') ? 'named' : read.key }).toEqual({
            name,
            table: read.table,
            key: 'named',
          });
        }
      }
    }
    expect(Object.keys(plans)).toHaveLength(cases.length);
  });
});
