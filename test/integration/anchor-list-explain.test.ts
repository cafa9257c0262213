import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { anchorListQuery, anchorPageQuery } from '../../src/modules/anchor/anchors/anchors.repository';
import {
  liveNowCandidatesQuery,
  liveRoomListQuery,
  liveRoomPageQuery,
  roomsOfAnchorQuery,
} from '../../src/modules/anchor/live-rooms/live-rooms.repository';
import { sessionListQuery, sessionPageQuery, unsettledSessionsQuery } from '../../src/modules/anchor/live-rooms/live-sessions.repository';
import { sessionTotalsQuery } from '../../src/modules/audience/rewards/session-totals.repository';
import { createTestPlatform, liveStage, type TestPlatform } from '../support/platform';

/**
 * Every list query of the anchor-management endpoints, as its repository builds it, runs through
 * its named index on MariaDB: EXPLAIN names the index for the table and never a full scan.
 */
let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
  // Some rows to plan against (the worker's database may hold few).
  for (let i = 0; i < 3; i += 1) await liveStage(t);
  // Plans from the tables as they are now: InnoDB refreshes its statistics in the background after
  // earlier files' writes, and a plan read mid-refresh may differ from run to run.
  await t.db1.raw('ANALYZE TABLE anchor, live_room, live_session, live_room_realtime, recharge');
});

afterAll(() => t.close());

interface PlanRow {
  table: string;
  type: string;
  key: string | null;
}

async function plan(query: Knex.QueryBuilder): Promise<PlanRow[]> {
  const sql = query.toQuery();
  const result = (await t.db1.raw(`EXPLAIN ${sql}`)) as unknown as [PlanRow[]];
  return result[0];
}

async function expectIndex(query: Knex.QueryBuilder, table: string, index: string): Promise<void> {
  const rows = await plan(query);
  const row = rows.find((r) => r.table === table);
  expect({ sql: query.toQuery(), key: row?.key }).toEqual({ sql: query.toQuery(), key: index });
  expect(row?.type).not.toBe('ALL');
}

const page = { offset: 0, limit: 20 };

describe('EXPLAIN on MariaDB', () => {
  it('when anchors are listed by status (and keyword), then idx_anchor_status, page and count', async () => {
    for (const filter of [
      { statuses: ['ACTIVE', 'DISABLED'] as const },
      { statuses: ['DELETED'] as const },
      { statuses: ['ACTIVE'] as const, keyword: 'ali' },
    ]) {
      const f = { statuses: [...filter.statuses], keyword: 'keyword' in filter ? filter.keyword : undefined };
      await expectIndex(anchorPageQuery(t.db1, f, page), 'anchor', 'idx_anchor_status');
      await expectIndex(anchorListQuery(t.db1, f).count({ n: '*' }), 'anchor', 'idx_anchor_status');
    }
  });

  it('when rooms are listed, then by anchor idx_live_room_anchor, by category idx_live_room_category, else idx_live_room_status', async () => {
    const open = { statuses: ['IDLE', 'LIVE'] as Array<'IDLE' | 'LIVE'> };
    await expectIndex(liveRoomPageQuery(t.db1, open, page), 'live_room', 'idx_live_room_status');
    await expectIndex(liveRoomListQuery(t.db1, open).count({ n: '*' }), 'live_room', 'idx_live_room_status');
    await expectIndex(liveRoomPageQuery(t.db1, { ...open, keyword: 'show' }, page), 'live_room', 'idx_live_room_status');
    await expectIndex(
      liveRoomPageQuery(t.db1, { statuses: ['IDLE', 'LIVE', 'CLOSED'], anchorId: 1 }, page),
      'live_room',
      'idx_live_room_anchor',
    );
    await expectIndex(liveRoomPageQuery(t.db1, { ...open, category: 'music' }, page), 'live_room', 'idx_live_room_category');
    await expectIndex(liveRoomListQuery(t.db1, { ...open, category: 'music' }).count({ n: '*' }), 'live_room', 'idx_live_room_category');
  });

  it('when the live-now candidates are read, then idx_live_room_status for the rooms and the realtime row by its key', async () => {
    const query = liveNowCandidatesQuery(t.db1, 500);
    await expectIndex(query, 'l', 'idx_live_room_status');
    const realtime = (await plan(query)).find((r) => r.table === 'r');
    expect(realtime).toMatchObject({ type: 'eq_ref', key: 'PRIMARY' });
  });

  it("when a room's sessions are listed or settled, then idx_live_session_room and idx_live_session_settle", async () => {
    await expectIndex(sessionPageQuery(t.db1, 1, page), 'live_session', 'idx_live_session_room');
    await expectIndex(sessionListQuery(t.db1, 1).count({ n: '*' }), 'live_session', 'idx_live_session_room');
    await expectIndex(unsettledSessionsQuery(t.db1, new Date(), 500), 'live_session', 'idx_live_session_settle');
  });

  it("when sessions' reward totals are counted, then idx_recharge_session", async () => {
    await expectIndex(sessionTotalsQuery(t.db1, [1, 2, 3]), 'recharge', 'idx_recharge_session');
  });

  it("when an anchor's rooms are locked for a disable or delete, then idx_live_room_anchor", async () => {
    await expectIndex(roomsOfAnchorQuery(t.db1, 1).forUpdate(), 'live_room', 'idx_live_room_anchor');
  });
});
