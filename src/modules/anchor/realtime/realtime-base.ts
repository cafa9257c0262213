import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import { baseOfRow, type Base } from './realtime-figures';
import type { RealtimeMetrics } from './realtime.metrics';
import { findRealtime, type RealtimeRow } from './realtime.repository';
import type { RealtimeStore, RedisView } from './realtime.redis';

/** Past this many known rooms the set starts over: memory stays bounded, a room costs one more query. */
const KNOWN_ROOMS_MAX = 100_000;

export function liveRoomNotFound(id: number): AppError {
  return AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${id}.`);
}

/**
 * A room's base — its row in DB1, which Redis's deltas are added to — and the short-lived copy of
 * it cached in Redis, so that most applies and reads never reach DB1.
 */
export function createRoomBases(deps: { db: Db; metrics: RealtimeMetrics; baseTtlMs: number }) {
  const { db, metrics } = deps;
  /** Rooms known to exist (rooms are never deleted), so the hot path skips the existence query. */
  const knownRooms = new Set<number>();

  /** The room's row in DB1; 404 when there is no such room. */
  async function loadRow(liveRoomId: number): Promise<RealtimeRow> {
    const [row] = await findRealtime(db, [liveRoomId]);
    if (!row) throw liveRoomNotFound(liveRoomId);
    if (knownRooms.size > KNOWN_ROOMS_MAX) knownRooms.clear();
    knownRooms.add(liveRoomId);
    return row;
  }

  /** The room's base: Redis's cached copy when present (a hit), else DB1, cached for the next read. */
  async function baseFor(store: RealtimeStore, liveRoomId: number, view: RedisView): Promise<Base> {
    if (view.base) {
      metrics.cache.inc({ result: 'hit' });
      return view.base;
    }
    metrics.cache.inc({ result: 'miss' });
    const base = baseOfRow(await loadRow(liveRoomId));
    // A failed prime only costs the next read a miss.
    await store.prime(liveRoomId, base, deps.baseTtlMs).catch(() => false);
    return base;
  }

  return {
    loadRow,
    baseFor,
    /** Whether the room was seen to exist, so an apply may skip asking DB1. */
    isKnown: (liveRoomId: number): boolean => knownRooms.has(liveRoomId),
  };
}

export type RoomBases = ReturnType<typeof createRoomBases>;
