import { dialectOfDb, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';
import { currentTraceId } from '../../../shared/trace';

export interface BalanceRow {
  anchor_id: number;
  available: number;
  frozen: number;
  total_income: number;
  total_withdrawn: number;
  updated_at: string;
}

const COLUMNS = ['anchor_id', 'available', 'frozen', 'total_income', 'total_withdrawn', 'updated_at'] as const;

export async function findBalance(db: Db, anchorId: number): Promise<BalanceRow | undefined> {
  return db<BalanceRow>('anchor_balance')
    .select(...COLUMNS)
    .where({ anchor_id: anchorId })
    .first();
}

/** Creates missing balance rows, then locks the anchors' rows in id order (no deadlocks between batches). */
export async function lockBalances(trx: Db, anchorIds: readonly number[], now: Date): Promise<Map<number, BalanceRow>> {
  const ids = [...new Set(anchorIds)].sort((a, b) => a - b);
  const at = toDbTime(now);
  await trx('anchor_balance')
    .insert(ids.map((id) => ({ anchor_id: id, available: 0, frozen: 0, total_income: 0, total_withdrawn: 0, updated_at: at })))
    .onConflict('anchor_id')
    .ignore();
  const query = trx<BalanceRow>('anchor_balance')
    .select(...COLUMNS)
    .whereIn('anchor_id', ids)
    .orderBy('anchor_id');
  if (dialectOfDb(trx) === 'mysql') void query.forUpdate();
  return new Map((await query).map((row) => [row.anchor_id, row]));
}

/**
 * Locks one anchor's existing balance row (MySQL; SQLite has one writer anyway); undefined when
 * finance never credited it. Unlike `lockBalances` it inserts nothing: an INSERT that meets the row
 * takes a shared lock first, and many callers upgrading it at once deadlock.
 */
export async function lockBalance(trx: Db, anchorId: number): Promise<BalanceRow | undefined> {
  const query = trx<BalanceRow>('anchor_balance')
    .select(...COLUMNS)
    .where({ anchor_id: anchorId })
    .first();
  if (dialectOfDb(trx) === 'mysql') void query.forUpdate();
  return query;
}

/**
 * SETTLEMENT credits an anchor's share; REVERSAL takes back the share of a settlement that was
 * voided; the WITHDRAWAL_* lines move a withdrawal's amount: APPLY available → frozen, CANCEL and
 * REJECT frozen → available, PAY frozen → withdrawn.
 */
export type LedgerEntryType = 'SETTLEMENT' | 'REVERSAL' | 'WITHDRAWAL_APPLY' | 'WITHDRAWAL_CANCEL' | 'WITHDRAWAL_REJECT' | 'WITHDRAWAL_PAY';

/**
 * Moves a locked balance and writes the journal line with the balance after it. The journal's
 * UNIQUE (entry_type, ref_type, ref_id) makes a repeated movement fail instead of counting twice.
 */
export async function moveBalance(
  trx: Db,
  args: {
    balance: BalanceRow;
    entryType: LedgerEntryType;
    availableDelta: number;
    frozenDelta: number;
    incomeDelta: number;
    withdrawnDelta: number;
    ref: { type: string; id: number };
    now: Date;
  },
): Promise<BalanceRow> {
  const at = toDbTime(args.now);
  const next: BalanceRow = {
    ...args.balance,
    available: args.balance.available + args.availableDelta,
    frozen: args.balance.frozen + args.frozenDelta,
    total_income: args.balance.total_income + args.incomeDelta,
    total_withdrawn: args.balance.total_withdrawn + args.withdrawnDelta,
    updated_at: at,
  };
  await trx('anchor_balance')
    .where({ anchor_id: next.anchor_id })
    .update({
      available: trx.raw('available + ?', [args.availableDelta]),
      frozen: trx.raw('frozen + ?', [args.frozenDelta]),
      total_income: trx.raw('total_income + ?', [args.incomeDelta]),
      total_withdrawn: trx.raw('total_withdrawn + ?', [args.withdrawnDelta]),
      updated_at: at,
    });
  await trx('balance_ledger').insert({
    anchor_id: next.anchor_id,
    entry_type: args.entryType,
    available_delta: args.availableDelta,
    frozen_delta: args.frozenDelta,
    available_after: next.available,
    frozen_after: next.frozen,
    ref_type: args.ref.type,
    ref_id: args.ref.id,
    created_at: at,
    trace_id: currentTraceId() ?? null,
  });
  return next;
}

type Num = number | string | null;

/** Every balance next to the anchor shares settled for it, read in one statement. */
export async function balancesAgainstSettlements(db: Db): Promise<Array<BalanceRow & { settled: Num }>> {
  const settled = db('settlement_detail').select('anchor_id').sum({ settled: 'anchor_amount' }).groupBy('anchor_id').as('d');
  return db('anchor_balance as b')
    .leftJoin(settled, 'd.anchor_id', 'b.anchor_id')
    .select('b.anchor_id', 'b.available', 'b.frozen', 'b.total_income', 'b.total_withdrawn', 'b.updated_at', 'd.settled')
    .orderBy('b.anchor_id');
}

/**
 * The anchor's settled income still on hold: SETTLEMENT lines booked after `since`, less the shares of
 * those settlements taken back since (a refund or a reconciliation void keeps the detail's time).
 */
export async function incomeSettledAfter(db: Db, anchorId: number, since: Date): Promise<number> {
  const [settled, voided] = (await Promise.all([
    db('balance_ledger')
      .where({ anchor_id: anchorId, entry_type: 'SETTLEMENT' })
      .where('created_at', '>', toDbTime(since))
      .sum({ s: 'available_delta' })
      .first(),
    db('settlement_detail_void')
      .where({ anchor_id: anchorId })
      .where('created_at', '>', toDbTime(since))
      .sum({ s: 'anchor_amount' })
      .first(),
  ])) as Array<{ s: Num } | undefined>;
  return Math.max(Number(settled?.s ?? 0) - Number(voided?.s ?? 0), 0);
}
