import { Counter, type Registry } from 'prom-client';
import type { Db, Trx } from '../../../shared/db/knex';
import { isDuplicateKey } from '../../../shared/db/failures';
import { retryOnConflict } from '../../../shared/db/retry';
import { failpoint } from '../../../shared/failpoints';
import type { Logger } from '../../../shared/logger';
import { splitByCommission } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import { lockBalances, moveBalance } from '../balances/balances.repository';
import { rateInForce, ratesByAnchor } from '../commission/commission-rates';
import { ratesUntil } from '../commission/commission.repository';
import type { BatchSyncCommand, BatchSyncResult, SettlementRecord } from '../contract';
import type { RecordCheck } from './record-check';
import { refundedAmong } from './refunds';
import {
  insertDetails,
  settledRechargeIds,
  smallestDetailId,
  upsertSettlement,
  type NewDetail,
  type SettlementTotals,
} from './settlement.repository';

export interface SettlementServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  defaultRateBp: number;
  /** Checks each record against the reward table before anything is settled. */
  records: RecordCheck;
  registry: Registry;
}

function totalsOf(details: readonly NewDetail[]): SettlementTotals {
  return details.reduce<SettlementTotals>(
    (sum, d) => ({
      count: sum.count + 1,
      amount: sum.amount + d.amount,
      anchorAmount: sum.anchorAmount + d.anchorAmount,
      platformAmount: sum.platformAmount + d.platformAmount,
    }),
    { count: 0, amount: 0, anchorAmount: 0, platformAmount: 0 },
  );
}

/** The first record per rechargeId: a batch that names a reward twice settles it once. */
function distinctRecords(records: readonly SettlementRecord[]): SettlementRecord[] {
  const seen = new Set<number>();
  return records.filter((r) => !seen.has(r.rechargeId) && seen.add(r.rechargeId));
}

/**
 * Settlement of synced rewards: in one DB2 transaction, each reward not settled yet is split by the
 * anchor's rate in force at the reward's time, recorded per anchor (settlement + details), journalled
 * and credited to the anchor's available balance.
 */
export function createSettlementService(deps: SettlementServiceDeps) {
  const { db, clock, logger } = deps;
  const recordsSettled = new Counter({
    name: 'settlement_records_total',
    help: 'Records of batch-sync calls by result: settled now, or duplicate (settled before, by recharge id; left alone).',
    labelNames: ['result'],
    registers: [deps.registry],
  });
  const races = new Counter({
    name: 'settlement_races_total',
    help: 'Settlement transactions run again because a concurrent one won on a UNIQUE index: the same reward (settlement_detail.recharge_id) or the same batch and anchor (settlement).',
    registers: [deps.registry],
  });

  async function splitAll(trx: Trx, records: readonly SettlementRecord[]): Promise<Map<number, NewDetail[]>> {
    const latest = new Date(Math.max(...records.map((r) => Date.parse(r.createdAt))));
    const rates = ratesByAnchor(
      await ratesUntil(
        trx,
        records.map((r) => r.anchorId),
        latest,
      ),
    );
    const byAnchor = new Map<number, NewDetail[]>();
    for (const record of records) {
      const createdAt = new Date(record.createdAt);
      const rateBp = rateInForce(rates.get(record.anchorId) ?? [], createdAt, deps.defaultRateBp);
      const { anchorFen, platformFen } = splitByCommission(record.amountFen, rateBp);
      const list = byAnchor.get(record.anchorId) ?? [];
      list.push({
        rechargeId: record.rechargeId,
        traceId: record.traceId,
        anchorId: record.anchorId,
        liveRoomId: record.liveRoomId,
        audienceId: record.audienceId,
        amount: record.amountFen,
        rateBp,
        anchorAmount: anchorFen,
        platformAmount: platformFen,
        rechargeCreatedAt: createdAt,
      });
      byAnchor.set(record.anchorId, list);
    }
    return byAnchor;
  }

  async function settle(trx: Trx, command: BatchSyncCommand, records: readonly SettlementRecord[]): Promise<BatchSyncResult> {
    const settled = await settledRechargeIds(
      trx,
      records.map((r) => r.rechargeId),
    );
    const unsettled = records.filter((r) => !settled.has(r.rechargeId));
    if (unsettled.length === 0) return { batchId: command.batchId, accepted: 0, duplicates: command.records.length };

    const now = clock();
    // The balance locks first: every settlement and every refund of these anchors' rewards takes them
    // before writing, so the locking reads next see each one committed before this one (refunds.ts):
    // a reward another batch settled meanwhile is a duplicate here, not a UNIQUE key violation.
    const balances = await lockBalances(
      trx,
      unsettled.map((r) => r.anchorId),
      now,
    );
    const ids = unsettled.map((r) => r.rechargeId);
    const [settledMeanwhile, refunded] = [await settledRechargeIds(trx, ids, { locking: true }), await refundedAmong(trx, ids)];
    const fresh = unsettled.filter((r) => !settledMeanwhile.has(r.rechargeId) && !refunded.has(r.rechargeId));
    const duplicates = command.records.length - fresh.length;
    if (fresh.length === 0) return { batchId: command.batchId, accepted: 0, duplicates };
    const byAnchor = await splitAll(trx, fresh);
    for (const [anchorId, details] of [...byAnchor].sort(([a], [b]) => a - b)) {
      const totals = totalsOf(details);
      const settlement = await upsertSettlement(trx, { batchId: command.batchId, anchorId, totals, now });
      await insertDetails(trx, settlement.id, details, now);
      const ref = settlement.created
        ? { type: 'settlement', id: settlement.id }
        : {
            type: 'settlement_detail',
            id: await smallestDetailId(
              trx,
              settlement.id,
              details.map((d) => d.rechargeId),
            ),
          };
      const balance = balances.get(anchorId);
      if (!balance) throw new Error(`balance row of anchor ${anchorId} missing after lock`);
      await moveBalance(trx, {
        balance,
        entryType: 'SETTLEMENT',
        availableDelta: totals.anchorAmount,
        frozenDelta: 0,
        incomeDelta: totals.anchorAmount,
        withdrawnDelta: 0,
        ref,
        now,
      });
    }
    await failpoint('settlement.beforeCommit');
    return { batchId: command.batchId, accepted: fresh.length, duplicates };
  }

  return {
    /** Idempotent per rechargeId: records settled before, or refunded, are counted as duplicates and left alone. */
    async batchSync(command: BatchSyncCommand): Promise<BatchSyncResult> {
      const records = distinctRecords(command.records);
      if (records.length === 0) return { batchId: command.batchId, accepted: 0, duplicates: 0 };
      await deps.records.assertStored(command.records);
      // A concurrent settlement of the same reward loses on the UNIQUE index; the retry then sees it as settled.
      let attempts = 0;
      for (;;) {
        try {
          const result = await retryOnConflict(() => db.transaction((trx) => settle(trx, command, records)));
          logger.info({ batchId: command.batchId, accepted: result.accepted, duplicates: result.duplicates }, 'settlement batch applied');
          recordsSettled.inc({ result: 'settled' }, result.accepted);
          recordsSettled.inc({ result: 'duplicate' }, result.duplicates);
          return result;
        } catch (error) {
          attempts += 1;
          if (!isDuplicateKey(error) || attempts >= 3) throw error;
          races.inc();
          logger.info({ batchId: command.batchId, attempt: attempts }, 'settlement lost a race on a UNIQUE key; settling the batch again');
        }
      }
    },
  };
}

export type SettlementService = ReturnType<typeof createSettlementService>;
