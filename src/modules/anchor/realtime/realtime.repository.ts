import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { LiveRoomStatus } from '../contract';
import { chunks } from '../../../shared/chunks';

/** The flushed figures of a room, with what the realtime read needs of the room itself. */
export interface RealtimeRow {
  live_room_id: number;
  anchor_id: number;
  status: LiveRoomStatus;
  total_earnings: number;
  recharge_count: number;
  last_flush_id: number;
  updated_at: string;
}

export async function findRealtime(db: Db, liveRoomIds: readonly number[]): Promise<RealtimeRow[]> {
  if (liveRoomIds.length === 0) return [];
  return db('live_room_realtime as r')
    .join('live_room as l', 'l.id', 'r.live_room_id')
    .select('r.live_room_id', 'r.anchor_id', 'l.status', 'r.total_earnings', 'r.recharge_count', 'r.last_flush_id', 'r.updated_at')
    .whereIn('r.live_room_id', [...new Set(liveRoomIds)]) as Promise<RealtimeRow[]>;
}

interface LockedRealtime {
  last_flush_id: number;
  journal_floor_id: number;
  floor_count: number;
  floor_earnings: number;
}

/** Locks the room's realtime row for the rest of the transaction (MySQL; SQLite has one writer anyway). */
async function lockRealtime(trx: Db, liveRoomId: number): Promise<LockedRealtime | undefined> {
  const query = trx('live_room_realtime')
    .select('last_flush_id', 'journal_floor_id', 'floor_count', 'floor_earnings')
    .where({ live_room_id: liveRoomId })
    .first();
  if (dialectOfDb(trx) === 'mysql') void query.forUpdate();
  return query as Promise<LockedRealtime | undefined>;
}

async function alreadyApplied(trx: Db, rechargeIds: readonly number[]): Promise<Set<number>> {
  const found = new Set<number>();
  for (const part of chunks(rechargeIds)) {
    const rows = (await trx('live_room_applied_reward').select('recharge_id').whereIn('recharge_id', part)) as Array<{
      recharge_id: number;
    }>;
    for (const row of rows) found.add(row.recharge_id);
  }
  return found;
}

/**
 * Counts rewards into the room's row, each at most once ever (the journal decides). Call inside a
 * transaction; returns what was actually added (`counted`: rechargeId and amount, in the order given).
 */
export async function addRewards(
  trx: Db,
  args: {
    liveRoomId: number;
    rewards: ReadonlyMap<number, number>;
    flushId: number | null;
    now: Date;
    /** Marks the room for the heal job's flush: its Redis apply failed and may still run late. */
    wantFlush?: boolean;
  },
): Promise<{ earnings: number; count: number; counted: Array<[number, number]> } | 'already-flushed' | 'no-room'> {
  const locked = await lockRealtime(trx, args.liveRoomId);
  if (!locked) return 'no-room';
  if (args.flushId !== null && locked.last_flush_id >= args.flushId) return 'already-flushed';
  // At or below the floor means counted long ago (its journal line was pruned).
  const candidates = [...args.rewards].filter(([id]) => id > locked.journal_floor_id);
  const seen = await alreadyApplied(
    trx,
    candidates.map(([id]) => id),
  );
  const fresh = candidates.filter(([id]) => !seen.has(id));
  const at = toDbTime(args.now);
  for (const part of chunks(fresh)) {
    await trx('live_room_applied_reward').insert(
      part.map(([id, amount]) => ({ recharge_id: id, live_room_id: args.liveRoomId, amount, flush_id: args.flushId, applied_at: at })),
    );
  }
  const earnings = fresh.reduce((sum, [, amount]) => sum + amount, 0);
  const update: Record<string, unknown> = {
    total_earnings: trx.raw('total_earnings + ?', [earnings]),
    recharge_count: trx.raw('recharge_count + ?', [fresh.length]),
  };
  if (fresh.length > 0) update['updated_at'] = at;
  if (args.flushId !== null) update['last_flush_id'] = args.flushId;
  if (args.wantFlush) update['flush_wanted_at'] = at;
  if (fresh.length > 0 || args.flushId !== null || args.wantFlush) {
    await trx('live_room_realtime').where({ live_room_id: args.liveRoomId }).update(update);
  }
  return { earnings, count: fresh.length, counted: fresh };
}

export async function lastFlushId(db: Db, liveRoomId: number): Promise<number | null> {
  const row = (await db('live_room_realtime').select('last_flush_id').where({ live_room_id: liveRoomId }).first()) as
    { last_flush_id: number } | undefined;
  return row ? row.last_flush_id : null;
}

/** Which of these rewards the room has counted already: a journal line, or at or below the room's floor. */
export async function countedAmong(db: Db, rewards: ReadonlyArray<{ rechargeId: number; liveRoomId: number }>): Promise<Set<number>> {
  const counted = await alreadyApplied(
    db,
    rewards.map((r) => r.rechargeId),
  );
  const floors = (await db('live_room_realtime')
    .select('live_room_id', 'journal_floor_id')
    .whereIn('live_room_id', [...new Set(rewards.map((r) => r.liveRoomId))])) as Array<{ live_room_id: number; journal_floor_id: number }>;
  const floorOf = new Map(floors.map((f) => [f.live_room_id, f.journal_floor_id]));
  for (const r of rewards) if (r.rechargeId <= (floorOf.get(r.liveRoomId) ?? 0)) counted.add(r.rechargeId);
  return counted;
}

/** Rooms the heal job should flush, oldest mark first, with the mark each had when read. */
export async function roomsWantingFlush(db: Db, limit: number): Promise<Array<{ liveRoomId: number; wantedAt: string }>> {
  const rows = (await db('live_room_realtime')
    .select('live_room_id', 'flush_wanted_at')
    .whereNotNull('flush_wanted_at')
    .orderBy('flush_wanted_at')
    .limit(limit)) as Array<{ live_room_id: number; flush_wanted_at: string }>;
  return rows.map((r) => ({ liveRoomId: r.live_room_id, wantedAt: r.flush_wanted_at }));
}

/** Clears the room's mark unless a newer one was set meanwhile (that one still wants its flush). */
export async function clearFlushWanted(db: Db, liveRoomId: number, wantedAt: string): Promise<void> {
  await db('live_room_realtime')
    .where({ live_room_id: liveRoomId })
    .andWhere('flush_wanted_at', '<=', wantedAt)
    .update({ flush_wanted_at: null });
}

/** Removes journal entries for rewards that do not exist (repair only). */
export async function forgetApplied(trx: Db, rechargeIds: readonly number[]): Promise<void> {
  for (const part of chunks(rechargeIds)) await trx('live_room_applied_reward').whereIn('recharge_id', part).delete();
}

/**
 * Takes a refunded reward out of its room's row, once ever (its line in `live_room_refunded_reward`
 * decides). Whether the reward itself is counted yet does not matter: the row is the floor plus the
 * journal minus these lines, and the reward sweep and reconciliation count every stored reward once.
 * Call inside a transaction; false when it was taken out before (or the room has no row).
 */
export async function takeOutRefunded(
  trx: Db,
  args: { liveRoomId: number; rechargeId: number; amountFen: number; now: Date },
): Promise<boolean> {
  // The room's row lock orders every take-out of the room's rewards: the check then the insert are one step.
  if (!(await lockRealtime(trx, args.liveRoomId))) return false;
  const before = (await trx('live_room_refunded_reward').select('recharge_id').where({ recharge_id: args.rechargeId }).first()) as unknown;
  if (before) return false;
  const at = toDbTime(args.now);
  await trx('live_room_refunded_reward').insert({
    recharge_id: args.rechargeId,
    live_room_id: args.liveRoomId,
    amount: args.amountFen,
    applied_at: at,
  });
  await trx('live_room_realtime')
    .where({ live_room_id: args.liveRoomId })
    .update({
      total_earnings: trx.raw('total_earnings - ?', [args.amountFen]),
      recharge_count: trx.raw('recharge_count - 1'),
      updated_at: at,
    });
  return true;
}

/** The room's refund lines, counted and summed. */
async function refundedTotals(db: Db, liveRoomId: number): Promise<{ count: number; earnings: number }> {
  const row = (await db('live_room_refunded_reward').where({ live_room_id: liveRoomId }).sum({ s: 'amount' }).count({ n: '*' }).first()) as
    { s: number | string | null; n: number | string } | undefined;
  return { count: Number(row?.n ?? 0), earnings: Number(row?.s ?? 0) };
}

/** Sets the room's row to what its floor, journal and refund lines say: the repair for a row that drifted from them. */
export async function recomputeFromJournal(trx: Db, liveRoomId: number, now: Date): Promise<{ earnings: number; count: number }> {
  const floor = await lockRealtime(trx, liveRoomId);
  const sums = (await trx('live_room_applied_reward')
    .where({ live_room_id: liveRoomId })
    .sum({ s: 'amount' })
    .count({ n: '*' })
    .first()) as { s: number | string | null; n: number | string };
  const refunded = await refundedTotals(trx, liveRoomId);
  const earnings = Number(floor?.floor_earnings ?? 0) + Number(sums.s ?? 0) - refunded.earnings;
  const count = Number(floor?.floor_count ?? 0) + Number(sums.n) - refunded.count;
  await trx('live_room_realtime')
    .where({ live_room_id: liveRoomId })
    .update({ total_earnings: earnings, recharge_count: count, updated_at: toDbTime(now) });
  return { earnings, count };
}

/**
 * Sets the room's floor totals to those of the rewards at or below `floorId` (the repair when they
 * say otherwise) — only while the floor is still at that id: a floor raised meanwhile holds more
 * than those totals. True when set; recompute the row after.
 */
export async function setFloorTotals(
  trx: Db,
  liveRoomId: number,
  floorId: number,
  totals: { count: number; earnings: number },
): Promise<boolean> {
  await lockRealtime(trx, liveRoomId);
  const updated = await trx('live_room_realtime')
    .where({ live_room_id: liveRoomId, journal_floor_id: floorId })
    .update({ floor_count: totals.count, floor_earnings: totals.earnings });
  return updated > 0;
}

/**
 * Folds the room's journal lines up to `floorId` into its floor and deletes them: the row does not
 * change (it is floor + journal either way). Only ever raises the floor.
 */
export async function raiseFloor(trx: Db, liveRoomId: number, floorId: number): Promise<{ rows: number; floorId: number }> {
  const locked = await lockRealtime(trx, liveRoomId);
  if (!locked || floorId <= locked.journal_floor_id) return { rows: 0, floorId: locked?.journal_floor_id ?? 0 };
  const folded = (await trx('live_room_applied_reward')
    .where('live_room_id', liveRoomId)
    .andWhere('recharge_id', '<=', floorId)
    .sum({ s: 'amount' })
    .count({ n: '*' })
    .first()) as {
    s: number | string | null;
    n: number | string;
  };
  await trx('live_room_applied_reward').where('live_room_id', liveRoomId).andWhere('recharge_id', '<=', floorId).delete();
  await trx('live_room_realtime')
    .where({ live_room_id: liveRoomId })
    .update({
      journal_floor_id: floorId,
      floor_count: trx.raw('floor_count + ?', [Number(folded.n)]),
      floor_earnings: trx.raw('floor_earnings + ?', [Number(folded.s ?? 0)]),
    });
  return { rows: Number(folded.n), floorId };
}

/**
 * The highest id the room's journal may be folded up to: lines confirmed by reconciliation
 * (id <= confirmedUpToId) and older than `appliedBefore` (past the window in which a late
 * duplicate of them can still arrive), below any reward still waiting in Redis (`belowId`).
 */
export async function foldableUpTo(
  db: Db,
  liveRoomId: number,
  args: { confirmedUpToId: number; appliedBefore: Date; belowId: number },
): Promise<number> {
  const row = (await db('live_room_applied_reward')
    .where('live_room_id', liveRoomId)
    .andWhere('recharge_id', '<=', Math.min(args.confirmedUpToId, args.belowId - 1))
    .andWhere('applied_at', '<', toDbTime(args.appliedBefore))
    .max({ id: 'recharge_id' })
    .first()) as { id: number | string | null } | undefined;
  return Number(row?.id ?? 0);
}

type Num = number | string | null;

/** Per room: the journal's count and sum of rewards with id <= upTo. */
export async function journalTotals(db: Db, upToId: number): Promise<Array<{ live_room_id: number; n: Num; s: Num }>> {
  return db('live_room_applied_reward')
    .select('live_room_id')
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .where('recharge_id', '<=', upToId)
    .groupBy('live_room_id') as unknown as Promise<Array<{ live_room_id: number; n: Num; s: Num }>>;
}

export interface RowAgainstJournal {
  live_room_id: number;
  anchor_id: number;
  total_earnings: number;
  recharge_count: number;
  journal_floor_id: number;
  floor_count: number;
  floor_earnings: number;
  n: Num;
  s: Num;
  /** The room's refund lines: count and sum. */
  rn: Num;
  rs: Num;
}

/** Every room's row and floor next to its whole journal and its refund lines, read in one statement (one consistent snapshot). */
export async function rowsAgainstJournal(db: Db): Promise<RowAgainstJournal[]> {
  const journal = db('live_room_applied_reward')
    .select('live_room_id')
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .groupBy('live_room_id')
    .as('j');
  const refunded = db('live_room_refunded_reward')
    .select('live_room_id')
    .count({ rn: '*' })
    .sum({ rs: 'amount' })
    .groupBy('live_room_id')
    .as('f');
  return db('live_room_realtime as r')
    .leftJoin(journal, 'j.live_room_id', 'r.live_room_id')
    .leftJoin(refunded, 'f.live_room_id', 'r.live_room_id')
    .select(
      'r.live_room_id',
      'r.anchor_id',
      'r.total_earnings',
      'r.recharge_count',
      'r.journal_floor_id',
      'r.floor_count',
      'r.floor_earnings',
      'j.n',
      'j.s',
      'f.rn',
      'f.rs',
    )
    .orderBy('r.live_room_id');
}

/** The journal's lines of a room in afterId < id <= toId: rechargeId -> amount. */
export async function journalInRange(db: Db, liveRoomId: number, afterId: number, toId: number): Promise<Map<number, number>> {
  const rows = (await db('live_room_applied_reward')
    .select('recharge_id', 'amount')
    .where('live_room_id', liveRoomId)
    .andWhere('recharge_id', '>', afterId)
    .andWhere('recharge_id', '<=', toId)) as Array<{ recharge_id: number; amount: number }>;
  return new Map(rows.map((r) => [r.recharge_id, Number(r.amount)]));
}

/** Journal lines of any room with an id above `afterId`, in id order, at most `limit`. */
export async function journalAfter(
  db: Db,
  afterId: number,
  limit: number,
): Promise<Array<{ recharge_id: number; live_room_id: number; amount: number }>> {
  return db('live_room_applied_reward')
    .select('recharge_id', 'live_room_id', 'amount')
    .where('recharge_id', '>', afterId)
    .orderBy('recharge_id')
    .limit(limit) as Promise<Array<{ recharge_id: number; live_room_id: number; amount: number }>>;
}

/** The room each of these rewards is journalled under, where it is journalled at all. */
export async function journalRoomsOf(db: Db, rechargeIds: readonly number[]): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  for (const part of chunks(rechargeIds)) {
    const rows = (await db('live_room_applied_reward').select('recharge_id', 'live_room_id').whereIn('recharge_id', part)) as Array<{
      recharge_id: number;
      live_room_id: number;
    }>;
    for (const row of rows) found.set(row.recharge_id, row.live_room_id);
  }
  return found;
}
