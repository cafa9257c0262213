import type { Db } from '../../../shared/db/knex';
import type { Logger } from '../../../shared/logger';
import type { RealtimeViewDto } from '../contract';
import { baseOfRow, viewFromRedis, viewFromRow, type Base } from './realtime-figures';
import type { RealtimeMetrics } from './realtime.metrics';
import { findRealtime } from './realtime.repository';
import type { RealtimeStore, RedisView } from './realtime.redis';

export interface ManyRoomsReadDeps {
  db: Db;
  /** The Redis side when Redis is usable now, else null. */
  usableStore(): RealtimeStore | null;
  metrics: RealtimeMetrics;
  logger: Logger;
  /** How long a base read from DB1 stays cached in Redis. */
  baseTtlMs: number;
}

/**
 * The realtime figures of several rooms (`?ids=`) for about the cost of one: one Redis round trip
 * for all of them (a pipeline of the per-room read script; one script over several rooms could not
 * run on a cluster, where their keys live in different slots), then one DB1 query for every room
 * whose cached base is missing, which primes those bases. Without Redis, or when that read fails,
 * one DB1 query for all. Rooms come back in the order asked; unknown ids are left out.
 */
export function createManyRoomsRead(deps: ManyRoomsReadDeps): (liveRoomIds: readonly number[]) => Promise<RealtimeViewDto[]> {
  const { db, metrics } = deps;

  /** The cached bases the views carry, plus one DB1 query for the rooms without one. */
  async function basesOf(store: RealtimeStore, liveRoomIds: readonly number[], views: readonly RedisView[]): Promise<Map<number, Base>> {
    const bases = new Map<number, Base>();
    liveRoomIds.forEach((id, i) => {
      const cached = views[i]?.base;
      if (cached) bases.set(id, cached);
    });
    const missing = liveRoomIds.filter((id) => !bases.has(id));
    if (bases.size > 0) metrics.cache.inc({ result: 'hit' }, bases.size);
    if (missing.length === 0) return bases;
    metrics.cache.inc({ result: 'miss' }, missing.length);
    const loaded = (await findRealtime(db, missing)).map((row) => ({ liveRoomId: row.live_room_id, base: baseOfRow(row) }));
    for (const { liveRoomId, base } of loaded) bases.set(liveRoomId, base);
    // A failed prime only costs the next read a miss.
    if (loaded.length > 0) await store.primeMany(loaded, deps.baseTtlMs).catch(() => undefined);
    return bases;
  }

  async function fromRedis(store: RealtimeStore, liveRoomIds: readonly number[], views: readonly RedisView[]): Promise<RealtimeViewDto[]> {
    const bases = await basesOf(store, liveRoomIds, views);
    return liveRoomIds.flatMap((id, i) => {
      const base = bases.get(id);
      const view = views[i];
      return base && view ? [viewFromRedis(id, base, view)] : [];
    });
  }

  async function fromDb(liveRoomIds: readonly number[]): Promise<RealtimeViewDto[]> {
    const rows = new Map((await findRealtime(db, liveRoomIds)).map((row) => [row.live_room_id, row]));
    return liveRoomIds.flatMap((id) => {
      const row = rows.get(id);
      return row ? [viewFromRow(row)] : [];
    });
  }

  return async function readManyRooms(liveRoomIds) {
    const store = deps.usableStore();
    if (store) {
      let views: RedisView[] | null = null;
      try {
        views = await store.readMany(liveRoomIds);
      } catch (error) {
        deps.logger.warn({ err: error, liveRoomIds }, 'redis read failed; answering from DB1');
      }
      if (views) return fromRedis(store, liveRoomIds, views);
    }
    return fromDb(liveRoomIds);
  };
}
