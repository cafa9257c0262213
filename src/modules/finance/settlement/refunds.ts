import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { isoFromDb, toDbTime } from '../../../shared/db/time';
import { retryOnConflict } from '../../../shared/db/retry';
import { failpoint } from '../../../shared/failpoints';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import type { Clock } from '../../../shared/module';
import { currentTraceId } from '../../../shared/trace';
import { chunks } from '../../../shared/chunks';
import type { AudienceServiceClient } from '../../audience/contract';
import { lockBalance, lockBalances, moveBalance, type BalanceRow } from '../balances/balances.repository';
import type { FinanceRefundDto, RefundCommand } from '../contract';
import { DETAIL_COLUMNS, voidDetail, type DetailRow } from './settlement.repository';

interface RefundRow {
  recharge_id: number;
  anchor_id: number;
  amount: number;
  reversed_amount: number;
  detail_void_id: number | null;
  reason: string;
  created_at: string;
}

const REFUND_COLUMNS = ['recharge_id', 'anchor_id', 'amount', 'reversed_amount', 'detail_void_id', 'reason', 'created_at'] as const;

function toDto(row: RefundRow): FinanceRefundDto {
  return {
    rechargeId: row.recharge_id,
    anchorId: row.anchor_id,
    amountFen: Number(row.amount),
    wasSettled: row.detail_void_id !== null,
    reversedFen: Number(row.reversed_amount),
    refundedAt: isoFromDb(row.created_at),
  };
}

/**
 * The refunded rewards among these, read with a lock on MySQL: under the anchor's balance lock, which
 * a refund takes before it writes its row, this sees every refund committed before, whatever the
 * transaction's snapshot (a locking read reads the newest rows).
 */
export async function refundedAmong(trx: Db, rechargeIds: readonly number[]): Promise<Set<number>> {
  const found = new Set<number>();
  for (const part of chunks(rechargeIds)) {
    const query = trx('settlement_refund').select('recharge_id').whereIn('recharge_id', part);
    if (dialectOfDb(trx) === 'mysql') void query.forShare();
    for (const row of (await query) as Array<{ recharge_id: number }>) found.add(row.recharge_id);
  }
  return found;
}

/**
 * Refunds on finance's side. A refund and the batch-sync that might settle the same reward both take
 * the anchor's balance lock first, so one of them runs entirely before the other: a refund after the
 * settlement voids its detail (moved to `settlement_detail_void`, out of the settlement's totals) and
 * books a REVERSAL of the anchor share; a refund before it leaves a row that the settlement reads
 * under that lock and skips the reward for. Either way the books hold the reward at most once and
 * never after its refund, and the ledger audit holds (income = Σ live details = Σ SETTLEMENT − Σ REVERSAL).
 */
export function createRefunds(deps: { db: Db; clock: Clock; logger: Logger; rewards: Pick<AudienceServiceClient, 'refundsOf'> }) {
  const { db, clock, logger } = deps;

  /**
   * The anchor's balance row, locked. An existing row is locked without the INSERT that creating one
   * needs: that INSERT takes a shared lock first, and refunds of one anchor upgrading it at once deadlock.
   */
  async function lockAnchor(trx: Db, anchorId: number, now: Date): Promise<Map<number, BalanceRow>> {
    const existing = await lockBalance(trx, anchorId);
    return existing ? new Map([[anchorId, existing]]) : lockBalances(trx, [anchorId], now);
  }

  async function book(command: RefundCommand): Promise<{ row: RefundRow; booked: boolean }> {
    return retryOnConflict(() =>
      db.transaction(async (trx) => {
        const now = clock();
        const balances = await lockAnchor(trx, command.anchorId, now);
        const existingQuery = trx<RefundRow>('settlement_refund')
          .select(...REFUND_COLUMNS)
          .where({ recharge_id: command.rechargeId })
          .first();
        if (dialectOfDb(trx) === 'mysql') void existingQuery.forUpdate();
        const existing = await existingQuery;
        if (existing) return { row: existing, booked: false };
        const detailQuery = trx<DetailRow>('settlement_detail')
          .select(...DETAIL_COLUMNS)
          .where({ recharge_id: command.rechargeId })
          .first();
        if (dialectOfDb(trx) === 'mysql') void detailQuery.forUpdate();
        const detail = await detailQuery;
        let reversed = 0;
        let voidId: number | null = null;
        if (detail) {
          // Settled under another anchor than the refund says (a record reconciliation would take back): its own balance pays.
          const owner = detail.anchor_id === command.anchorId ? balances : await lockAnchor(trx, detail.anchor_id, now);
          const balance = owner.get(detail.anchor_id);
          if (!balance) throw new Error(`balance row of anchor ${detail.anchor_id} missing after lock`);
          voidId = await voidDetail(trx, detail, { reason: `refund: ${command.reason}`, now });
          reversed = detail.anchor_amount;
          await moveBalance(trx, {
            balance,
            entryType: 'REVERSAL',
            availableDelta: -reversed,
            frozenDelta: 0,
            incomeDelta: -reversed,
            withdrawnDelta: 0,
            ref: { type: 'settlement_detail_void', id: voidId },
            now,
          });
        }
        const row: RefundRow = {
          recharge_id: command.rechargeId,
          anchor_id: command.anchorId,
          amount: command.amountFen,
          reversed_amount: reversed,
          detail_void_id: voidId,
          reason: command.reason.slice(0, 255),
          created_at: toDbTime(now),
        };
        await trx('settlement_refund').insert({ ...row, trace_id: currentTraceId() ?? null });
        await failpoint('refund.beforeCommit');
        return { row, booked: true };
      }),
    );
  }

  return {
    async refundReward(command: RefundCommand): Promise<FinanceRefundDto> {
      // Finance takes money back only for a reward the reward table says is refunded, whoever asks.
      const [refund] = await deps.rewards.refundsOf([command.rechargeId]);
      if (!refund)
        throw AppError.conflict('REWARD_NOT_REFUNDED', `Reward ${command.rechargeId} is not refunded; finance books nothing for it.`);
      const { row, booked } = await book(command);
      if (booked)
        logger.info(
          {
            rechargeId: row.recharge_id,
            anchorId: row.anchor_id,
            reversedFen: row.reversed_amount,
            wasSettled: row.detail_void_id !== null,
          },
          'refund booked',
        );
      return toDto(row);
    },
  };
}

export type Refunds = ReturnType<typeof createRefunds>;
