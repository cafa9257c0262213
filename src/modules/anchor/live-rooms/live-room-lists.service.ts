import type { Db } from '../../../shared/db/knex';
import type { Principal } from '../../../shared/http/auth';
import { visibleAnchor } from '../anchors/anchors.service';
import type { LiveRoomDto, LiveRoomStatus, RealtimeViewDto } from '../contract';
import { listLiveRooms, liveNowCandidates, type LiveRoomListFilter } from './live-rooms.repository';
import { toLiveRoomDto } from './live-rooms.service';

/**
 * How many LIVE rooms "live now" looks at: those with the largest flushed earnings in DB1. Their
 * exact figures (DB1 plus Redis's pending delta) decide the order, so the answer is exact whenever
 * at most this many rooms are live; beyond that, a room outside them whose unflushed rewards (at
 * most REALTIME_FLUSH_THRESHOLD of them, at most one flush interval old) would lift it into the
 * list shows up after its next flush.
 */
export const LIVE_NOW_CANDIDATES = 500;

/** getMany takes at most this many rooms per call (`?ids=` bound). */
const READ_CHUNK = 100;

export interface LiveNowRoom extends LiveRoomDto {
  totalEarningsFen: number;
  rechargeCount: number;
}

export interface PageQuery {
  page: number;
  pageSize: number;
}

function pageOf<T>(query: PageQuery, items: T[], total: number) {
  return { items, page: query.page, pageSize: query.pageSize, total };
}

const window = (query: PageQuery) => ({ offset: (query.page - 1) * query.pageSize, limit: query.pageSize });

export function createLiveRoomListsService(deps: {
  db: Db;
  /** The realtime module's get-many: exact figures for up to 100 rooms, unknown ids left out. */
  readMany: (liveRoomIds: readonly number[]) => Promise<RealtimeViewDto[]>;
}) {
  const { db } = deps;

  async function exactFigures(ids: readonly number[]): Promise<Map<number, RealtimeViewDto>> {
    const figures = new Map<number, RealtimeViewDto>();
    for (let i = 0; i < ids.length; i += READ_CHUNK) {
      for (const view of await deps.readMany(ids.slice(i, i + READ_CHUNK))) figures.set(view.liveRoomId, view);
    }
    return figures;
  }

  return {
    /** Public: newest first; without a status, the open rooms (IDLE and LIVE). */
    async listLiveRooms(query: PageQuery & { status?: LiveRoomStatus | undefined } & Omit<LiveRoomListFilter, 'statuses'>) {
      const filter: LiveRoomListFilter = {
        statuses: query.status ? [query.status] : ['IDLE', 'LIVE'],
        anchorId: query.anchorId,
        category: query.category,
        keyword: query.keyword,
      };
      const { rows, total } = await listLiveRooms(db, filter, window(query));
      return pageOf(query, rows.map(toLiveRoomDto), total);
    },

    /** The anchor's rooms, every status unless one is asked for (the anchor or admin; a deleted anchor's to admins only). */
    async anchorLiveRooms(principal: Principal | null, anchorId: number, query: PageQuery & { status?: LiveRoomStatus | undefined }) {
      await visibleAnchor(db, principal, anchorId);
      const statuses: LiveRoomStatus[] = query.status ? [query.status] : ['IDLE', 'LIVE', 'CLOSED'];
      const { rows, total } = await listLiveRooms(db, { statuses, anchorId }, window(query));
      return pageOf(query, rows.map(toLiveRoomDto), total);
    },

    /** LIVE rooms by exact realtime earnings, largest first (ties: more rewards, then the older room), at most `limit`. */
    async liveNow(limit: number): Promise<LiveNowRoom[]> {
      const rooms = await liveNowCandidates(db, Math.max(limit, LIVE_NOW_CANDIDATES));
      const figures = await exactFigures(rooms.map((row) => row.id));
      return rooms
        .flatMap((row) => {
          const view = figures.get(row.id);
          return view ? [{ ...toLiveRoomDto(row), totalEarningsFen: view.totalEarningsFen, rechargeCount: view.rechargeCount }] : [];
        })
        .sort((a, b) => b.totalEarningsFen - a.totalEarningsFen || b.rechargeCount - a.rechargeCount || a.liveRoomId - b.liveRoomId)
        .slice(0, limit);
    },
  };
}

export type LiveRoomListsService = ReturnType<typeof createLiveRoomListsService>;
