import type { Db } from '../../../shared/db/knex';
import { isoFromDb, isoFromDbOrNull } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { QuarantineDto } from '../contract';
import { quarantinedRewards, quarantinedTotals, requeueQuarantined, syncStateOf } from './sync-quarantine.repository';

/**
 * The rewards the finance sync quarantined (finance refused each of them SYNC_QUARANTINE_AFTER
 * times): listed with finance's last answer, and put back in the queue by an operator once the cause
 * is fixed — one, or all of them.
 */
export function createSyncQuarantine(deps: { db: Db; logger: Logger }) {
  const { db, logger } = deps;
  return {
    async list(limit: number): Promise<QuarantineDto> {
      const [total, rows] = await Promise.all([quarantinedTotals(db), quarantinedRewards(db, limit)]);
      return {
        total,
        rewards: rows.map((row) => ({
          rechargeId: row.id,
          traceId: row.trace_id,
          audienceId: row.audience_id,
          liveRoomId: row.live_room_id,
          anchorId: row.anchor_id,
          amountFen: row.amount,
          createdAt: isoFromDb(row.created_at),
          refusals: row.sync_refusals,
          lastRefusal: row.sync_last_refusal,
          quarantinedAt: isoFromDbOrNull(row.sync_quarantined_at),
        })),
      };
    },

    /** Back to PENDING with no refusals counted: the reward `rewardId`, or every quarantined one with 'all'. */
    async requeue(target: number | 'all'): Promise<{ requeued: number }> {
      const requeued = await requeueQuarantined(db, target === 'all' ? null : target);
      if (target !== 'all' && requeued === 0) {
        const state = await syncStateOf(db, target);
        throw AppError.conflict(
          'NOT_QUARANTINED',
          state ? `Reward ${target} is not quarantined: its sync state is ${state}.` : `There is no reward ${target}.`,
        );
      }
      logger.info({ target, requeued }, 'quarantined rewards put back in the sync queue');
      return { requeued };
    },
  };
}

export type SyncQuarantine = ReturnType<typeof createSyncQuarantine>;
