import type { Db } from '../../../shared/db/knex';
import { retryOnConflict } from '../../../shared/db/retry';
import type { Clock } from '../../../shared/module';
import type { RealtimeAuditDto, RealtimeRewardRef } from '../contract';
import { forgetApplied, journalIdsInRange, journalTotals, recomputeFromJournal, rowsAgainstJournal } from './realtime.repository';
import type { RealtimeService } from './realtime.service';

/**
 * Reconciliation support: what the module has counted, per room, and the repairs that make it
 * match the reward table. Every repair goes through the same exactly-once paths as live traffic.
 */
export function createRealtimeAudit(deps: { db: Db; clock: Clock; realtime: RealtimeService }) {
  const { db, clock, realtime } = deps;

  /** Ids (with amounts) Redis holds for the room in the range that DB1's journal does not have yet. */
  async function unflushedInRange(liveRoomId: number, afterId: number, toId: number): Promise<Map<number, number>> {
    const inRange = [...(await realtime.unflushedRewards(liveRoomId))].filter(([id]) => id > afterId && id <= toId);
    if (inRange.length === 0) return new Map();
    const journal = await journalIdsInRange(db, liveRoomId, afterId, toId);
    return new Map(inRange.filter(([id]) => !journal.has(id)));
  }

  return {
    async realtimeAudit(upToRechargeId: number): Promise<RealtimeAuditDto[]> {
      await realtime.flushAll();
      const [totals, rows, redisRooms] = await Promise.all([journalTotals(db, upToRechargeId), rowsAgainstJournal(db), realtime.roomsWithUnflushed()]);
      const counted = new Map(totals.map((t) => [t.live_room_id, { count: Number(t.n), amountFen: Number(t.s ?? 0) }]));
      for (const liveRoomId of redisRooms) {
        const extra = await unflushedInRange(liveRoomId, 0, upToRechargeId);
        const entry = counted.get(liveRoomId) ?? { count: 0, amountFen: 0 };
        for (const amount of extra.values()) {
          entry.count += 1;
          entry.amountFen += amount;
        }
        counted.set(liveRoomId, entry);
      }
      return rows.map((row) => ({
        liveRoomId: row.live_room_id,
        anchorId: row.anchor_id,
        counted: counted.get(row.live_room_id) ?? { count: 0, amountFen: 0 },
        rowMatchesJournal: row.recharge_count === Number(row.n ?? 0) && row.total_earnings === Number(row.s ?? 0),
      }));
    },

    async repairRealtimeRange(liveRoomId: number, range: { afterId: number; toId: number }, rewards: readonly RealtimeRewardRef[]): Promise<{ applied: number; removed: number }> {
      const journal = await journalIdsInRange(db, liveRoomId, range.afterId, range.toId);
      const inRedis = await unflushedInRange(liveRoomId, range.afterId, range.toId);
      const truth = new Set(rewards.map((r) => r.rechargeId));
      const missing = rewards.filter((r) => !journal.has(r.rechargeId) && !inRedis.has(r.rechargeId));
      for (const r of missing) {
        await realtime.applyReward({ rechargeId: r.rechargeId, traceId: r.traceId, liveRoomId, audienceId: r.audienceId, amountFen: r.amountFen });
      }
      const phantoms = [...journal].filter((id) => !truth.has(id));
      if (phantoms.length > 0) await db.transaction((trx) => forgetApplied(trx, phantoms));
      return { applied: missing.length, removed: phantoms.length };
    },

    async recountRealtime(liveRoomId: number): Promise<void> {
      await realtime.flushRoomNow(liveRoomId);
      await retryOnConflict(() => db.transaction((trx) => recomputeFromJournal(trx, liveRoomId, clock())));
      await realtime.forgetCachedRoom(liveRoomId);
    },
  };
}
