import type { Db } from '../../../shared/db/knex';
import type { Logger } from '../../../shared/logger';
import type { CountedRewardRef } from '../contract';
import { clearFlushWanted, countedAmong, roomsWantingFlush } from './realtime.repository';
import type { RealtimeService } from './realtime.service';

/** Rooms flushed per heal run at most; the rest wait for the next run (every couple of seconds). */
const ROOMS_PER_RUN = 500;

/**
 * Brings the realtime figures back to exact within seconds of a Redis fault ending. Each run (the
 * `realtime-heal` job, every few seconds):
 *  - a Redis that restarted or was replaced (its run id changed) may hold pending entries DB1 has
 *    counted already (a replica that missed the acknowledgement): every room is flushed against
 *    its journal, which counts each reward once; what it lost altogether the reward sweep re-applies;
 *  - a room whose Redis apply failed (its reward went to DB1, marked `flush_wanted_at`) is flushed
 *    as soon as Redis answers, so a late copy of the apply is folded away rather than read twice.
 */
export function createRealtimeHeal(deps: { db: Db; realtime: RealtimeService; logger: Logger }) {
  const { db, realtime, logger } = deps;
  let knownRunId: string | null = null;

  async function followRedisIdentity(): Promise<boolean> {
    const runId = await realtime.redisRunId();
    if (runId === null) return false;
    const replaced = knownRunId !== null && knownRunId !== runId;
    knownRunId = runId;
    if (!replaced) return false;
    logger.warn({ runId }, 'redis restarted or was replaced: flushing every room against its journal');
    await realtime.flushAll();
    return true;
  }

  async function flushWantedRooms(): Promise<number> {
    const rooms = await roomsWantingFlush(db, ROOMS_PER_RUN);
    for (const { liveRoomId, wantedAt } of rooms) {
      await realtime.flushRoomNow(liveRoomId);
      await realtime.forgetCachedRoom(liveRoomId);
      await clearFlushWanted(db, liveRoomId, wantedAt);
    }
    return rooms.length;
  }

  return {
    async heal(): Promise<{ redisReplaced: boolean; flushedRooms: number }> {
      // Without a usable Redis there is nothing to heal yet: the marks wait for it.
      if ((await realtime.redisRunId()) === null) return { redisReplaced: false, flushedRooms: 0 };
      const redisReplaced = await followRedisIdentity();
      const flushedRooms = await flushWantedRooms();
      if (flushedRooms > 0) logger.info({ flushedRooms }, 'rooms flushed after a failed redis apply');
      return { redisReplaced, flushedRooms };
    },

    /** Of these rewards, the ones the rooms have counted: DB1's journal or floor, or Redis. */
    async countedRewards(refs: readonly CountedRewardRef[]): Promise<number[]> {
      const counted = await countedAmong(db, refs);
      const byRoom = new Map<number, number[]>();
      for (const ref of refs)
        if (!counted.has(ref.rechargeId)) byRoom.set(ref.liveRoomId, [...(byRoom.get(ref.liveRoomId) ?? []), ref.rechargeId]);
      for (const [liveRoomId, ids] of byRoom) for (const id of await realtime.heldInRedis(liveRoomId, ids)) counted.add(id);
      return [...counted];
    },
  };
}

export type RealtimeHeal = ReturnType<typeof createRealtimeHeal>;
