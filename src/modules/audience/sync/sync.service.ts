import { randomBytes } from 'node:crypto';
import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { retryOnConflict } from '../../../shared/db/retry';
import { failpoint } from '../../../shared/failpoints';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import type { FinanceServiceClient } from '../../finance/contract';
import { countUnsynced, type RechargeRow } from '../rewards/rewards.repository';
import { claimBatch, markSynced, releaseClaim } from './sync.repository';

export interface SyncReport {
  synced: number;
  batches: number;
  /** Still unsynced after the run. */
  pending: number;
}

export interface SyncServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  finance: FinanceServiceClient;
  batchSize: number;
  claimTtlMs: number;
  /** Upper bound of batches per run, so one run cannot go on forever behind a fast producer. */
  maxBatchesPerRun?: number;
}

function newBatchId(now: Date): string {
  return `SYNC-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`;
}

function toRecord(row: RechargeRow) {
  return {
    rechargeId: row.id,
    traceId: row.trace_id,
    anchorId: row.anchor_id,
    liveRoomId: row.live_room_id,
    audienceId: row.audience_id,
    amountFen: row.amount,
    createdAt: isoFromDb(row.created_at),
  };
}

/**
 * Settlement sync: claim -> finance.batchSync -> mark SYNCED, batch after batch. Finance ignores
 * recharge ids it has settled, so a batch re-sent after a crash settles nothing twice.
 */
export function createSyncService(deps: SyncServiceDeps) {
  const { db, clock, logger, finance } = deps;
  const maxBatches = deps.maxBatchesPerRun ?? 200;

  async function syncOneBatch(): Promise<number> {
    const batchId = newBatchId(clock());
    // Two instances claiming at once (and rewards inserting meanwhile) can deadlock on the sync index: retry.
    const rows = await retryOnConflict(() => claimBatch(db, { batchId, limit: deps.batchSize, now: clock(), claimTtlMs: deps.claimTtlMs }));
    if (rows.length === 0) return 0;
    await failpoint('sync.afterClaim');
    let result;
    try {
      result = await finance.batchSync({ batchId, records: rows.map(toRecord) });
    } catch (error) {
      await retryOnConflict(() => releaseClaim(db, batchId)).catch((releaseError: unknown) =>
        logger.warn({ err: releaseError, batchId }, 'could not release claim; it expires by itself'),
      );
      throw error;
    }
    await failpoint('sync.afterFinanceCommit');
    await retryOnConflict(() => markSynced(db, { batchId, now: clock() }));
    logger.info({ batchId, records: rows.length, accepted: result.accepted, duplicates: result.duplicates }, 'sync batch settled');
    return rows.length;
  }

  return {
    async runSync(): Promise<SyncReport> {
      let synced = 0;
      let batches = 0;
      try {
        while (batches < maxBatches) {
          const count = await syncOneBatch();
          if (count === 0) break;
          synced += count;
          batches += 1;
          if (count < deps.batchSize) break;
        }
      } catch (error) {
        logger.warn({ err: error, synced, batches }, 'finance sync stopped; the backlog waits for the next run');
        if (error instanceof AppError && error.status < 500) throw error;
        throw AppError.unavailable('Finance could not take the sync batch; rewards stay queued and are retried on the next run.', error);
      }
      return { synced, batches, pending: await countUnsynced(db) };
    },
  };
}

export type SyncService = ReturnType<typeof createSyncService>;
