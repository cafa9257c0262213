import { randomBytes } from 'node:crypto';
import type { SyncClaimLocking } from '../../../shared/config';
import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { retryOnConflict } from '../../../shared/db/retry';
import { failpoint } from '../../../shared/failpoints';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import type { FinanceServiceClient } from '../../finance/contract';
import { countUnsynced, type RechargeRow } from '../rewards/rewards.repository';
import { emptyOutcome, sendBisectingRefusals, type BisectOutcome } from './refusal-bisect';
import { claimBatch, markSynced, recordRefusal, releaseClaim } from './sync.repository';

export interface SyncReport {
  synced: number;
  batches: number;
  /** Still waiting for finance after the run (PENDING or CLAIMED); quarantined rewards wait for an operator and are not counted. */
  pending: number;
}

/** What operators see of the sync (metrics). */
export interface SyncObserver {
  /** Rewards finance refused in a run: `retried` go back to PENDING, `quarantined` leave the queue. */
  refused(outcome: 'retried' | 'quarantined'): void;
}

export interface SyncServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  finance: FinanceServiceClient;
  batchSize: number;
  claimTtlMs: number;
  /** SYNC_CLAIM_LOCKING: how concurrent syncs keep out of each other's batches. */
  claimLocking?: SyncClaimLocking;
  /** SYNC_QUARANTINE_AFTER: refusals (in separate runs) after which a reward is QUARANTINED. */
  quarantineAfter: number;
  observer?: SyncObserver;
  /** SYNC_LANES: batches in flight at once within a run (1 when left out). */
  lanes?: number;
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

const ids = (rows: readonly RechargeRow[]) => rows.map((row) => row.id);

/**
 * Settlement sync: claim -> finance.batchSync -> mark SYNCED, batch after batch. Finance ignores
 * recharge ids it has settled, so a batch re-sent after a crash settles nothing twice. A batch
 * finance refuses (a 4xx) is split until the refused rewards are found: the others are settled in
 * the same run, each refused one counts a refusal and is not sent again in this run, and after
 * `quarantineAfter` refusals it is QUARANTINED — so no reward can block the queue. Finance being
 * unavailable counts nothing: the claim is given back and the run stops.
 */
export function createSyncService(deps: SyncServiceDeps) {
  const { db, clock, logger, finance } = deps;
  const maxBatches = deps.maxBatchesPerRun ?? 200;

  /** Counts each refusal; the reward goes back to PENDING or, at the limit, into quarantine. */
  async function recordRefusals(batchId: string, outcome: BisectOutcome): Promise<void> {
    for (const { row, reason } of outcome.refused) {
      const state = await retryOnConflict(() =>
        recordRefusal(db, { batchId, rewardId: row.id, reason, quarantineAfter: deps.quarantineAfter, now: clock() }),
      );
      if (state === null) continue;
      deps.observer?.refused(state === 'QUARANTINED' ? 'quarantined' : 'retried');
      const fields = { batchId, rechargeId: row.id, traceId: row.trace_id, reason };
      if (state === 'QUARANTINED') logger.error(fields, 'reward quarantined: finance keeps refusing it; see `sync quarantine list`');
      else logger.warn(fields, 'finance refused a reward; it is tried again in the next run');
    }
  }

  /** Confirms what finance holds and counts what it refused; with `failed`, gives the rest back. */
  async function conclude(batchId: string, rows: readonly RechargeRow[], outcome: BisectOutcome, failed: boolean): Promise<void> {
    await retryOnConflict(() => markSynced(db, { batchId, ids: ids(outcome.settled), now: clock() }));
    await recordRefusals(batchId, outcome);
    if (!failed) return;
    const done = new Set([...ids(outcome.settled), ...outcome.refused.map((r) => r.row.id)]);
    await retryOnConflict(() => releaseClaim(db, { batchId, ids: ids(rows).filter((id) => !done.has(id)) }));
  }

  /** One claimed batch; `refusedThisRun` keeps a refused reward from being sent again (and counted again) in the same run. */
  async function syncOneBatch(refusedThisRun: Set<number>): Promise<{ claimed: number; settled: number }> {
    const batchId = newBatchId(clock());
    // Two instances claiming at once (and rewards inserting meanwhile) can deadlock on the sync index: retry.
    const { rows, lostToOthers } = await retryOnConflict(() =>
      claimBatch(db, {
        batchId,
        limit: deps.batchSize,
        now: clock(),
        claimTtlMs: deps.claimTtlMs,
        locking: deps.claimLocking,
        excluding: refusedThisRun,
      }),
    );
    if (lostToOthers > 0) logger.info({ batchId, lostToOthers, claimed: rows.length }, 'sync claim met another sync');
    if (rows.length === 0) return { claimed: 0, settled: 0 };
    await failpoint('sync.afterClaim');
    const outcome = emptyOutcome();
    const send = (part: readonly RechargeRow[]) => finance.batchSync({ batchId, records: part.map(toRecord) });
    try {
      await sendBisectingRefusals(rows, send, outcome);
    } catch (error) {
      await conclude(batchId, rows, outcome, true).catch((concludeError: unknown) =>
        logger.warn({ err: concludeError, batchId }, 'could not give the claim back; it expires by itself'),
      );
      throw error;
    }
    await failpoint('sync.afterFinanceCommit');
    await conclude(batchId, rows, outcome, false);
    for (const { row } of outcome.refused) refusedThisRun.add(row.id);
    logger.info(
      {
        batchId,
        records: rows.length,
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
        refused: outcome.refused.length,
        sends: outcome.sends,
      },
      'sync batch settled',
    );
    return { claimed: rows.length, settled: outcome.settled.length };
  }

  return {
    /**
     * Batch after batch until the queue is empty (or `maxBatches`), `lanes` batches in flight at once:
     * each lane claims its own batch (SKIP LOCKED or the plain claim keeps them apart, as between two
     * instances), so one batch's claim and confirmation in DB1 overlap another's settlement in finance.
     * The first failure stops every lane after its current batch.
     */
    async runSync(): Promise<SyncReport> {
      let synced = 0;
      let batches = 0;
      // Set by a lane's catch; read after them all (an object, so the compiler does not narrow it to null).
      const failure: { error?: unknown; failed: boolean } = { failed: false };
      const refusedThisRun = new Set<number>();
      const lane = async (): Promise<void> => {
        while (!failure.failed && batches < maxBatches) {
          batches += 1;
          const { claimed, settled } = await syncOneBatch(refusedThisRun);
          synced += settled;
          if (claimed === 0) batches -= 1;
          if (claimed < deps.batchSize) return;
        }
      };
      await Promise.all(
        Array.from({ length: deps.lanes ?? 1 }, () =>
          lane().catch((error: unknown) => {
            if (failure.failed) return;
            failure.failed = true;
            failure.error = error;
          }),
        ),
      );
      if (failure.failed) {
        const { error } = failure;
        logger.warn({ err: error, synced, batches }, 'finance sync stopped; the backlog waits for the next run');
        if (error instanceof AppError && error.status < 500) throw error;
        throw AppError.unavailable('Finance could not take the sync batch; rewards stay queued and are retried on the next run.', error);
      }
      return { synced, batches, pending: await countUnsynced(db) };
    },
  };
}

export type SyncService = ReturnType<typeof createSyncService>;
