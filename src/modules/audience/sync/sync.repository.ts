import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import type { RechargeRow } from '../rewards/rewards.repository';

/** Ids of up to `limit` rows in `status` (and, for expired claims, claimed before `expiredBefore`), locked, skipping rows other claimers hold. */
async function lockClaimable(trx: Db, args: { status: 'PENDING' | 'CLAIMED'; limit: number; expiredBefore?: string }): Promise<number[]> {
  const query = trx('recharge').select('id').where('sync_status', args.status).orderBy('id').limit(args.limit);
  if (args.expiredBefore) void query.where('sync_claimed_until', '<', args.expiredBefore);
  // MySQL: concurrent syncs skip each other's rows. SQLite: one writer at a time, nothing to skip.
  if (dialectOfDb(trx) === 'mysql') void query.forUpdate().skipLocked();
  return (await query).map((row: { id: number }) => row.id);
}

/**
 * Claims a batch of unsynced rewards for `batchId`: PENDING ones first, then claims whose holder
 * died (expired). The claim is a state with an expiry, so a crash anywhere loses nothing.
 */
export async function claimBatch(db: Db, args: { batchId: string; limit: number; now: Date; claimTtlMs: number }): Promise<RechargeRow[]> {
  return db.transaction(async (trx) => {
    const now = toDbTime(args.now);
    const ids = await lockClaimable(trx, { status: 'PENDING', limit: args.limit });
    if (ids.length < args.limit)
      ids.push(...(await lockClaimable(trx, { status: 'CLAIMED', limit: args.limit - ids.length, expiredBefore: now })));
    if (ids.length === 0) return [];
    await trx('recharge')
      .whereIn('id', ids)
      .update({
        sync_status: 'CLAIMED',
        sync_batch_id: args.batchId,
        sync_claimed_until: toDbTime(new Date(args.now.getTime() + args.claimTtlMs)),
      });
    return trx<RechargeRow>('recharge')
      .select(
        'id',
        'trace_id',
        'audience_id',
        'live_room_id',
        'anchor_id',
        'live_session_id',
        'amount',
        'gift_name',
        'message',
        'created_at',
      )
      .whereIn('id', ids)
      .orderBy('id');
  });
}

export async function markSynced(db: Db, args: { batchId: string; now: Date }): Promise<number> {
  return db('recharge')
    .where({ sync_batch_id: args.batchId, sync_status: 'CLAIMED' })
    .update({ sync_status: 'SYNCED', synced_at: toDbTime(args.now), sync_claimed_until: null });
}

/** Gives a batch back at once when finance refused it, instead of waiting for the claim to expire. */
export async function releaseClaim(db: Db, batchId: string): Promise<number> {
  return db('recharge')
    .where({ sync_batch_id: batchId, sync_status: 'CLAIMED' })
    .update({ sync_status: 'PENDING', sync_batch_id: null, sync_claimed_until: null });
}
