import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { SyncClaimLocking } from '../../../shared/config';
import { retryOnConflict } from '../../../shared/db/retry';
import { RECHARGE_COLUMNS, type RechargeRow } from '../rewards/rewards.repository';

/** Most rounds of choosing and losing one plain claim tries before it settles for what it won. */
const PLAIN_CLAIM_ROUNDS = 20;

export interface ClaimArgs {
  batchId: string;
  limit: number;
  now: Date;
  claimTtlMs: number;
  /** How concurrent claimers keep apart (SYNC_CLAIM_LOCKING); skip-locked when left out. */
  locking?: SyncClaimLocking;
  /** Rewards this run must not take again (finance refused them in it already). */
  excluding?: ReadonlySet<number>;
}

export interface ClaimedBatch {
  rows: RechargeRow[];
  /** Rewards it chose that another claim took first (plain locking only): how much two syncs met. */
  lostToOthers: number;
}

type Claimable = { status: 'PENDING' } | { status: 'CLAIMED'; expiredBefore: string };

/** Ids of up to `limit` claimable rows in id order: PENDING ones, or claims whose holder did not confirm in time. */
function claimableIds(db: Db, which: Claimable, limit: number, excluding: ReadonlySet<number> | undefined) {
  const query = db('recharge').select('id').where('sync_status', which.status).orderBy('id').limit(limit);
  if (which.status === 'CLAIMED') void query.where('sync_claimed_until', '<', which.expiredBefore);
  if (excluding && excluding.size > 0) void query.whereNotIn('id', [...excluding]);
  return query;
}

/** The claimed rows of the batch among `ids`. */
function claimedRows(db: Db, batchId: string, ids: readonly number[]): Promise<RechargeRow[]> {
  return db<RechargeRow>('recharge')
    .select(...RECHARGE_COLUMNS)
    .whereIn('id', ids)
    .andWhere('sync_batch_id', batchId)
    .andWhere('sync_status', 'CLAIMED')
    .orderBy('id');
}

function claimColumns(args: ClaimArgs) {
  return {
    sync_status: 'CLAIMED',
    sync_batch_id: args.batchId,
    sync_claimed_until: toDbTime(new Date(args.now.getTime() + args.claimTtlMs)),
  };
}

/** MySQL: rows locked by a concurrent claim are skipped (SELECT … FOR UPDATE SKIP LOCKED), so two claims never meet. */
async function claimSkippingLocked(db: Db, args: ClaimArgs): Promise<ClaimedBatch> {
  const rows = await db.transaction(async (trx) => {
    const lock = async (which: Claimable, limit: number) => {
      const query = claimableIds(trx, which, limit, args.excluding);
      // SQLite: one writer at a time, nothing to skip.
      if (dialectOfDb(trx) === 'mysql') void query.forUpdate().skipLocked();
      return ((await query) as Array<{ id: number }>).map((row) => row.id);
    };
    const ids = await lock({ status: 'PENDING' }, args.limit);
    if (ids.length < args.limit)
      ids.push(...(await lock({ status: 'CLAIMED', expiredBefore: toDbTime(args.now) }, args.limit - ids.length)));
    if (ids.length === 0) return [];
    await trx('recharge').whereIn('id', ids).update(claimColumns(args));
    return claimedRows(trx, args.batchId, ids);
  });
  return { rows, lostToOthers: 0 };
}

/**
 * Without row locks held across statements (for databases that parse SKIP LOCKED but do not honour
 * it): choose ids with a plain read, take them with one UPDATE that re-checks each row's state, and
 * read back what this batch won. Another claimer that chose the same ids finds them taken and wins
 * nothing there, so no reward is ever claimed by two live claims; the loser chooses again until its
 * batch is full or nothing claimable is left. Each statement commits on its own: no lock outlives it,
 * and a failure after some rounds leaves what they won to expire like a crashed claimer's.
 */
async function claimPlain(db: Db, args: ClaimArgs): Promise<ClaimedBatch> {
  const won: RechargeRow[] = [];
  let lostToOthers = 0;
  const expired: Claimable = { status: 'CLAIMED', expiredBefore: toDbTime(args.now) };
  const choose = async (which: Claimable, limit: number) =>
    ((await claimableIds(db, which, limit, args.excluding)) as Array<{ id: number }>).map((row) => row.id);
  for (let round = 0; round < PLAIN_CLAIM_ROUNDS && won.length < args.limit; round += 1) {
    const wanted = args.limit - won.length;
    let which: Claimable = { status: 'PENDING' };
    let ids = await choose(which, wanted);
    if (ids.length === 0) [which, ids] = [expired, await choose(expired, wanted)];
    if (ids.length === 0) break;
    const take = db('recharge').whereIn('id', ids).andWhere('sync_status', which.status);
    if (which.status === 'CLAIMED') void take.andWhere('sync_claimed_until', '<', which.expiredBefore);
    // Two claimers' UPDATEs can deadlock on the sync index; the victim's statement is rolled back whole, so running it again is safe.
    const taken = await retryOnConflict(() => take.clone().update(claimColumns(args)));
    lostToOthers += ids.length - taken;
    if (taken > 0) won.push(...(await claimedRows(db, args.batchId, ids)));
  }
  return { rows: won, lostToOthers };
}

/**
 * Claims a batch of unsynced rewards for `batchId`: PENDING ones first, then claims whose holder
 * died (expired). The claim is a state with an expiry, so a crash anywhere loses nothing. Fewer rows
 * than `limit` means nothing else was claimable when it looked (or, plain, that other claims kept
 * taking what it chose: they are settling those).
 */
export async function claimBatch(db: Db, args: ClaimArgs): Promise<ClaimedBatch> {
  return (args.locking ?? 'skip-locked') === 'plain' ? claimPlain(db, args) : claimSkippingLocked(db, args);
}

/** Marks the batch's rewards among `ids` SYNCED; a reward another sync claimed meanwhile is left to that sync. */
export async function markSynced(db: Db, args: { batchId: string; ids: readonly number[]; now: Date }): Promise<number> {
  if (args.ids.length === 0) return 0;
  return db('recharge')
    .whereIn('id', args.ids)
    .andWhere({ sync_batch_id: args.batchId, sync_status: 'CLAIMED' })
    .update({ sync_status: 'SYNCED', synced_at: toDbTime(args.now), sync_claimed_until: null });
}

/** Gives the batch's rewards among `ids` back at once (finance could not take them), instead of waiting for the claim to expire. */
export async function releaseClaim(db: Db, args: { batchId: string; ids: readonly number[] }): Promise<number> {
  if (args.ids.length === 0) return 0;
  return db('recharge')
    .whereIn('id', args.ids)
    .andWhere({ sync_batch_id: args.batchId, sync_status: 'CLAIMED' })
    .update({ sync_status: 'PENDING', sync_batch_id: null, sync_claimed_until: null });
}

/**
 * Counts a refusal of one claimed reward and gives it back: PENDING while it has had fewer than
 * `quarantineAfter` refusals, QUARANTINED from then on. One statement, so two syncs cannot lose a
 * count; the state is computed before the count moves (MySQL assigns SET items left to right, SQLite
 * from the old row: both read the old count here). Returns the new state, or null when the claim was
 * no longer this batch's (it expired and another sync holds it).
 */
export async function recordRefusal(
  db: Db,
  args: { batchId: string; rewardId: number; reason: string; quarantineAfter: number; now: Date },
): Promise<'PENDING' | 'QUARANTINED' | null> {
  const changed: unknown = await db.raw(
    `UPDATE recharge SET
       sync_status = CASE WHEN sync_refusals + 1 >= ? THEN 'QUARANTINED' ELSE 'PENDING' END,
       sync_quarantined_at = CASE WHEN sync_refusals + 1 >= ? THEN ? ELSE NULL END,
       sync_last_refusal = ?,
       sync_batch_id = NULL,
       sync_claimed_until = NULL,
       sync_refusals = sync_refusals + 1
     WHERE id = ? AND sync_batch_id = ? AND sync_status = 'CLAIMED'`,
    [args.quarantineAfter, args.quarantineAfter, toDbTime(args.now), args.reason.slice(0, 255), args.rewardId, args.batchId],
  );
  if (affectedRows(changed) === 0) return null;
  const row = (await db('recharge').select('sync_status').where('id', args.rewardId).first()) as { sync_status: string } | undefined;
  return row?.sync_status === 'QUARANTINED' ? 'QUARANTINED' : 'PENDING';
}

/** Rows changed by a raw UPDATE: mysql2 answers `[ResultSetHeader]`, better-sqlite3 `{ changes }`. */
function affectedRows(result: unknown): number {
  const header: unknown = Array.isArray(result) ? result[0] : result;
  const value = (header as { affectedRows?: number; changes?: number } | undefined) ?? {};
  return Number(value.affectedRows ?? value.changes ?? 0);
}
