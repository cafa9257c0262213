import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { retryOnConflict } from '../../../shared/db/retry';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import { lockBalances, moveBalance } from '../balances/balances.repository';
import type { SettledRecordDto } from '../contract';
import type { RecordCheck } from './record-check';
import { detailsAfter, detailsOf, voidDetail, type DetailRow } from './settlement.repository';

function toSettledRecord(d: DetailRow): SettledRecordDto {
  return {
    rechargeId: d.recharge_id,
    traceId: d.trace_id,
    anchorId: d.anchor_id,
    liveRoomId: d.live_room_id,
    audienceId: d.audience_id,
    amountFen: d.amount,
    createdAt: isoFromDb(d.recharge_created_at),
    anchorShareFen: d.anchor_amount,
  };
}

/**
 * Finance's side of reconciliation repairs: what it has settled, read by reward id, and taking
 * back a settlement that is not a reward as stored (one that was forged, or broke).
 */
export function createSettlementRepair(deps: { db: Db; clock: Clock; logger: Logger; records: RecordCheck }) {
  const { db, clock, logger } = deps;

  /** Moves each detail aside and reverses its anchor share, all in one transaction. */
  async function voidAll(details: readonly DetailRow[], reason: string): Promise<void> {
    await retryOnConflict(() =>
      db.transaction(async (trx) => {
        const now = clock();
        const balances = await lockBalances(
          trx,
          details.map((d) => d.anchor_id),
          now,
        );
        for (const detail of [...details].sort((a, b) => a.recharge_id - b.recharge_id)) {
          const voidId = await voidDetail(trx, detail, { reason, now });
          const balance = balances.get(detail.anchor_id);
          if (!balance) throw new Error(`balance row of anchor ${detail.anchor_id} missing after lock`);
          const share = detail.anchor_amount;
          const after = await moveBalance(trx, {
            balance,
            entryType: 'REVERSAL',
            availableDelta: -share,
            frozenDelta: 0,
            incomeDelta: -share,
            withdrawnDelta: 0,
            ref: { type: 'settlement_detail_void', id: voidId },
            now,
          });
          balances.set(detail.anchor_id, after);
        }
      }),
    );
  }

  return {
    async settledRecords(query: {
      anchorId?: number;
      afterId: number;
      upToRechargeId?: number;
      limit: number;
    }): Promise<SettledRecordDto[]> {
      const rows = await detailsAfter(db, {
        ...(query.anchorId !== undefined ? { anchorId: query.anchorId } : {}),
        afterId: query.afterId,
        ...(query.upToRechargeId !== undefined ? { upToId: query.upToRechargeId } : {}),
        limit: query.limit,
      });
      return rows.map(toSettledRecord);
    },

    async voidSettlements(rechargeIds: readonly number[], reason: string): Promise<{ voided: number[] }> {
      const details = await detailsOf(db, rechargeIds);
      if (details.length === 0) return { voided: [] };
      // Checked again here: whoever asks, a settlement that matches its stored reward is never taken back.
      const wrong = await deps.records.notStored(details.map(toSettledRecord));
      const toVoid = details.filter((d) => wrong.has(d.recharge_id));
      if (toVoid.length === 0) return { voided: [] };
      await voidAll(toVoid, reason);
      const voided = toVoid.map((d) => d.recharge_id);
      logger.warn({ voided, reason }, 'settlements that are not stored rewards taken back');
      return { voided };
    },
  };
}

export type SettlementRepair = ReturnType<typeof createSettlementRepair>;
