import type { Db } from '../../../shared/db/knex';
import { retryOnConflict } from '../../../shared/db/retry';
import type { Clock } from '../../../shared/module';
import type { CountedRewardDto, RealtimeAuditDto, RealtimeRepairDto, RealtimeRewardRef } from '../contract';
import {
  foldableUpTo,
  forgetApplied,
  journalAfter,
  journalInRange,
  journalRoomsOf,
  journalTotals,
  raiseFloor,
  recomputeFromJournal,
  rowsAgainstJournal,
  setFloorTotals,
} from './realtime.repository';
import type { RealtimeService } from './realtime.service';

/**
 * Reconciliation support: what the module has counted, per room, and the repairs that make it
 * match the reward table. Missing rewards are counted through the same exactly-once journal as
 * live traffic; lines that are not the truth are forgotten.
 */
export function createRealtimeAudit(deps: { db: Db; clock: Clock; realtime: RealtimeService; journalRetentionMs: number }) {
  const { db, clock, realtime } = deps;

  /** rechargeId -> amount that Redis holds for the room in the range and DB1's journal does not have yet. */
  async function unflushedInRange(liveRoomId: number, afterId: number, toId: number): Promise<Map<number, number>> {
    const inRange = [...(await realtime.unflushedRewards(liveRoomId))].filter(([id]) => id > afterId && id <= toId);
    if (inRange.length === 0) return new Map();
    const journal = await journalInRange(db, liveRoomId, afterId, toId);
    return new Map(inRange.filter(([id]) => !journal.has(id)));
  }

  /** Lines of the room in the range that are not one of `truth` with its amount, and the truth not counted with its amount. */
  async function compare(liveRoomId: number, range: { afterId: number; toId: number }, truth: readonly RealtimeRewardRef[]) {
    const journal = await journalInRange(db, liveRoomId, range.afterId, range.toId);
    const inRedis = await unflushedInRange(liveRoomId, range.afterId, range.toId);
    const amountOf = new Map(truth.map((r) => [r.rechargeId, r.amountFen]));
    const wrong = [...journal].filter(([id, amount]) => amountOf.get(id) !== amount).map(([id]) => id);
    const missing = truth.filter((r) => journal.get(r.rechargeId) !== r.amountFen && inRedis.get(r.rechargeId) !== r.amountFen);
    return { wrong, missing };
  }

  return {
    async realtimeAudit(upToRechargeId: number): Promise<RealtimeAuditDto[]> {
      await realtime.flushAll();
      const [totals, rows, redisRooms] = await Promise.all([
        journalTotals(db, upToRechargeId),
        rowsAgainstJournal(db),
        realtime.roomsWithUnflushed(),
      ]);
      const journal = new Map(totals.map((t) => [t.live_room_id, { count: Number(t.n), amountFen: Number(t.s ?? 0) }]));
      const inRedis = new Map<number, { count: number; amountFen: number }>();
      for (const liveRoomId of redisRooms) {
        const floor = rows.find((r) => r.live_room_id === liveRoomId)?.journal_floor_id ?? 0;
        const extra = [...(await unflushedInRange(liveRoomId, floor, upToRechargeId)).values()];
        inRedis.set(liveRoomId, { count: extra.length, amountFen: extra.reduce((sum, amount) => sum + amount, 0) });
      }
      return rows.map((row) => {
        const floor = { upToRechargeId: row.journal_floor_id, count: row.floor_count, amountFen: row.floor_earnings };
        const lines = journal.get(row.live_room_id) ?? { count: 0, amountFen: 0 };
        const redis = inRedis.get(row.live_room_id) ?? { count: 0, amountFen: 0 };
        return {
          liveRoomId: row.live_room_id,
          anchorId: row.anchor_id,
          counted: { count: floor.count + lines.count + redis.count, amountFen: floor.amountFen + lines.amountFen + redis.amountFen },
          rowMatchesJournal:
            row.recharge_count === floor.count + Number(row.n ?? 0) - Number(row.rn ?? 0) &&
            row.total_earnings === floor.amountFen + Number(row.s ?? 0) - Number(row.rs ?? 0),
          floor,
        };
      });
    },

    async countedRewardsAfter(afterId: number, limit: number): Promise<CountedRewardDto[]> {
      return (await journalAfter(db, afterId, limit)).map((r) => ({
        rechargeId: r.recharge_id,
        liveRoomId: r.live_room_id,
        amountFen: Number(r.amount),
      }));
    },

    async repairRealtimeRange(
      liveRoomId: number,
      range: { afterId: number; toId: number },
      rewards: readonly RealtimeRewardRef[],
    ): Promise<RealtimeRepairDto> {
      const { wrong, missing } = await compare(liveRoomId, range, rewards);
      const elsewhere = [
        ...(await journalRoomsOf(
          db,
          missing.map((r) => r.rechargeId),
        )),
      ].filter(([, room]) => room !== liveRoomId);
      const forget = [...wrong, ...elsewhere.map(([id]) => id)];
      if (forget.length > 0) await retryOnConflict(() => db.transaction((trx) => forgetApplied(trx, forget)));
      // Straight into DB1: whatever Redis still remembers of an id (a just-flushed copy) cannot refuse it there.
      const applied = await realtime.countInDb(
        liveRoomId,
        missing.map((r) => ({
          rechargeId: r.rechargeId,
          traceId: r.traceId,
          liveRoomId,
          audienceId: r.audienceId,
          amountFen: r.amountFen,
        })),
      );
      return { applied, removed: forget.length, otherRooms: [...new Set(elsewhere.map(([, room]) => room))] };
    },

    async setRealtimeFloor(liveRoomId: number, truth: { floorId: number; count: number; amountFen: number }): Promise<boolean> {
      return retryOnConflict(() =>
        db.transaction((trx) => setFloorTotals(trx, liveRoomId, truth.floorId, { count: truth.count, earnings: truth.amountFen })),
      );
    },

    async recountRealtime(liveRoomId: number): Promise<void> {
      await realtime.flushRoomNow(liveRoomId);
      await retryOnConflict(() => db.transaction((trx) => recomputeFromJournal(trx, liveRoomId, clock())));
      await realtime.forgetCachedRoom(liveRoomId);
    },

    async compactRealtimeJournal(liveRoomId: number, confirmedUpToId: number): Promise<{ rows: number; floorId: number }> {
      // A reward still waiting in Redis has no journal line yet: the floor must stay below it, or its flush would skip it.
      const waiting = [...(await realtime.unflushedRewards(liveRoomId)).keys()];
      const belowId = waiting.length > 0 ? Math.min(...waiting) : Number.MAX_SAFE_INTEGER;
      const appliedBefore = new Date(clock().getTime() - deps.journalRetentionMs);
      const floorId = await foldableUpTo(db, liveRoomId, { confirmedUpToId, appliedBefore, belowId });
      if (floorId === 0) return { rows: 0, floorId: 0 };
      const result = await retryOnConflict(() => db.transaction((trx) => raiseFloor(trx, liveRoomId, floorId)));
      await realtime.raiseFloor(liveRoomId, result.floorId);
      return result;
    },
  };
}
