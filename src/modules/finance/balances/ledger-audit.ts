import type { Db } from '../../../shared/db/knex';

/** One broken rule: which, for whom, and the two figures that should have been equal (fen, or a count). */
export interface AuditBreach {
  check:
    | 'balance-equals-ledger'
    | 'ledger-chain'
    | 'parts-add-up-to-income'
    | 'income-equals-settled-shares'
    | 'withdrawn-equals-paid'
    | 'frozen-equals-open-withdrawals'
    | 'no-negative-frozen'
    | 'detail-shares-add-up'
    | 'settlement-adds-up';
  anchorId?: number;
  ref?: { type: string; id: number };
  expected: number;
  actual: number;
}

export interface LedgerAuditReport {
  clean: boolean;
  anchors: number;
  ledgerLines: number;
  details: number;
  breaches: AuditBreach[];
}

type Num = number | string | null;
const n = (v: Num | undefined): number => Number(v ?? 0);

/** Ledger lines walked per query when checking each line's "after" against the one before it. */
const PAGE = 5000;
/** Breaches listed at most; the count still says how bad it is. */
const MAX_LISTED = 1000;

/**
 * The books checked against themselves, per anchor (every anchor, or those asked):
 *  - the balance is what its ledger lines add up to, and each line's balance-after follows from the
 *    one before it;
 *  - available + frozen + withdrawn = total income = Σ settled anchor shares (voided ones moved out)
 *    = Σ SETTLEMENT lines − Σ REVERSAL lines;
 *  - withdrawn = Σ PAID withdrawals = Σ WITHDRAWAL_PAY lines; frozen = Σ open withdrawals, never below zero;
 *  - every settled reward's shares add up to its amount, every settlement to its details.
 * Read on the reports pool: whole-table statements.
 */
export async function auditLedger(db: Db, options: { anchorIds?: readonly number[] } = {}): Promise<LedgerAuditReport> {
  const only = options.anchorIds && options.anchorIds.length > 0 ? [...new Set(options.anchorIds)] : null;
  const scoped = <Q extends { whereIn(column: string, values: readonly number[]): Q }>(query: Q, column = 'anchor_id'): Q =>
    only ? query.whereIn(column, only) : query;
  const breaches: AuditBreach[] = [];
  let breachCount = 0;
  const breach = (b: AuditBreach) => {
    breachCount += 1;
    if (breaches.length < MAX_LISTED) breaches.push(b);
  };

  const [balances, ledgerByType, settledShares, withdrawals] = await Promise.all([
    scoped(db('anchor_balance').select('anchor_id', 'available', 'frozen', 'total_income', 'total_withdrawn')) as Promise<
      Array<{ anchor_id: number; available: Num; frozen: Num; total_income: Num; total_withdrawn: Num }>
    >,
    scoped(
      db('balance_ledger')
        .select('anchor_id', 'entry_type')
        .sum({ a: 'available_delta', f: 'frozen_delta' })
        .count({ c: '*' })
        .groupBy('anchor_id', 'entry_type'),
    ) as unknown as Promise<Array<{ anchor_id: number; entry_type: string; a: Num; f: Num; c: Num }>>,
    scoped(db('settlement_detail').select('anchor_id').sum({ s: 'anchor_amount' }).groupBy('anchor_id')) as unknown as Promise<
      Array<{ anchor_id: number; s: Num }>
    >,
    scoped(db('withdrawal').select('anchor_id', 'status').sum({ s: 'amount' }).groupBy('anchor_id', 'status')) as unknown as Promise<
      Array<{ anchor_id: number; status: string; s: Num }>
    >,
  ]);

  type Sums = { available: number; frozen: number; lines: number; settled: number; reversed: number; paidLines: number };
  const ledger = new Map<number, Sums>();
  for (const row of ledgerByType) {
    const sums = ledger.get(row.anchor_id) ?? { available: 0, frozen: 0, lines: 0, settled: 0, reversed: 0, paidLines: 0 };
    sums.available += n(row.a);
    sums.frozen += n(row.f);
    sums.lines += n(row.c);
    if (row.entry_type === 'SETTLEMENT') sums.settled += n(row.a);
    if (row.entry_type === 'REVERSAL') sums.reversed -= n(row.a);
    if (row.entry_type === 'WITHDRAWAL_PAY') sums.paidLines -= n(row.f);
    ledger.set(row.anchor_id, sums);
  }
  const shares = new Map(settledShares.map((r) => [r.anchor_id, n(r.s)]));
  const paid = new Map<number, number>();
  const open = new Map<number, number>();
  for (const w of withdrawals) {
    if (w.status === 'PAID') paid.set(w.anchor_id, (paid.get(w.anchor_id) ?? 0) + n(w.s));
    if (w.status === 'PENDING' || w.status === 'APPROVED') open.set(w.anchor_id, (open.get(w.anchor_id) ?? 0) + n(w.s));
  }

  const anchorIds = new Set<number>([...balances.map((b) => b.anchor_id), ...ledger.keys(), ...shares.keys()]);
  const byAnchor = new Map(balances.map((b) => [b.anchor_id, b]));
  for (const anchorId of [...anchorIds].sort((a, b) => a - b)) {
    const b = byAnchor.get(anchorId);
    const available = n(b?.available);
    const frozen = n(b?.frozen);
    const income = n(b?.total_income);
    const withdrawn = n(b?.total_withdrawn);
    const l = ledger.get(anchorId) ?? { available: 0, frozen: 0, lines: 0, settled: 0, reversed: 0, paidLines: 0 };
    const check = (name: AuditBreach['check'], expected: number, actual: number) => {
      if (expected !== actual) breach({ check: name, anchorId, expected, actual });
    };
    check('balance-equals-ledger', l.available, available);
    check('balance-equals-ledger', l.frozen, frozen);
    check('parts-add-up-to-income', income, available + frozen + withdrawn);
    check('income-equals-settled-shares', shares.get(anchorId) ?? 0, income);
    check('income-equals-settled-shares', l.settled - l.reversed, income);
    check('withdrawn-equals-paid', paid.get(anchorId) ?? 0, withdrawn);
    check('withdrawn-equals-paid', l.paidLines, withdrawn);
    check('frozen-equals-open-withdrawals', open.get(anchorId) ?? 0, frozen);
    if (frozen < 0) breach({ check: 'no-negative-frozen', anchorId, expected: 0, actual: frozen });
  }

  // Each line's "after" follows from the line before it of the same anchor.
  let ledgerLines = 0;
  const last = new Map<number, { available: number; frozen: number }>();
  for (let after = { anchorId: 0, id: 0 }; ;) {
    const page = (await scoped(
      db('balance_ledger')
        .select('id', 'anchor_id', 'entry_type', 'ref_type', 'ref_id', 'available_delta', 'frozen_delta', 'available_after', 'frozen_after')
        .where(
          (q) =>
            void q
              .where('anchor_id', '>', after.anchorId)
              .orWhere((q2) => void q2.where('anchor_id', after.anchorId).where('id', '>', after.id)),
        )
        .orderBy([
          { column: 'anchor_id', order: 'asc' },
          { column: 'id', order: 'asc' },
        ])
        .limit(PAGE),
    )) as unknown as Array<{
      id: number;
      anchor_id: number;
      ref_type: string;
      ref_id: number;
      available_delta: Num;
      frozen_delta: Num;
      available_after: Num;
      frozen_after: Num;
    }>;
    for (const line of page) {
      const before = last.get(line.anchor_id) ?? { available: 0, frozen: 0 };
      const expected = { available: before.available + n(line.available_delta), frozen: before.frozen + n(line.frozen_delta) };
      if (expected.available !== n(line.available_after) || expected.frozen !== n(line.frozen_after)) {
        breach({
          check: 'ledger-chain',
          anchorId: line.anchor_id,
          ref: { type: line.ref_type, id: line.ref_id },
          expected: expected.available + expected.frozen,
          actual: n(line.available_after) + n(line.frozen_after),
        });
      }
      last.set(line.anchor_id, { available: n(line.available_after), frozen: n(line.frozen_after) });
    }
    ledgerLines += page.length;
    if (page.length < PAGE) break;
    const tail = page[page.length - 1];
    if (!tail) break;
    after = { anchorId: tail.anchor_id, id: tail.id };
  }

  const [badDetails, badSettlements, detailCount] = await Promise.all([
    scoped(
      db('settlement_detail')
        .select('id', 'anchor_id', 'amount', 'anchor_amount', 'platform_amount')
        .whereRaw('anchor_amount + platform_amount <> amount'),
    ).limit(MAX_LISTED) as unknown as Promise<
      Array<{ id: number; anchor_id: number; amount: Num; anchor_amount: Num; platform_amount: Num }>
    >,
    scoped(
      db('settlement as s')
        .leftJoin(
          db('settlement_detail')
            .select('settlement_id')
            .sum({ t: 'amount', a: 'anchor_amount' })
            .count({ c: '*' })
            .groupBy('settlement_id')
            .as('d'),
          'd.settlement_id',
          's.id',
        )
        .select('s.id', 's.anchor_id', 's.record_count', 's.total_amount', 's.anchor_amount', 's.platform_amount', 'd.t', 'd.a', 'd.c'),
      's.anchor_id',
    ) as Promise<
      Array<{
        id: number;
        anchor_id: number;
        record_count: Num;
        total_amount: Num;
        anchor_amount: Num;
        platform_amount: Num;
        t: Num;
        a: Num;
        c: Num;
      }>
    >,
    scoped(db('settlement_detail').count({ c: '*' })).first() as unknown as Promise<{ c: Num } | undefined>,
  ]);
  for (const d of badDetails) {
    breach({
      check: 'detail-shares-add-up',
      anchorId: d.anchor_id,
      ref: { type: 'settlement_detail', id: d.id },
      expected: n(d.amount),
      actual: n(d.anchor_amount) + n(d.platform_amount),
    });
  }
  for (const s of badSettlements) {
    const ref = { type: 'settlement', id: s.id };
    if (n(s.anchor_amount) + n(s.platform_amount) !== n(s.total_amount))
      breach({
        check: 'settlement-adds-up',
        anchorId: s.anchor_id,
        ref,
        expected: n(s.total_amount),
        actual: n(s.anchor_amount) + n(s.platform_amount),
      });
    // A detail voided by reconciliation leaves its settlement row as it was booked: only totals not above it are checked.
    if (n(s.t) > n(s.total_amount) || n(s.a) > n(s.anchor_amount) || n(s.c) > n(s.record_count))
      breach({ check: 'settlement-adds-up', anchorId: s.anchor_id, ref, expected: n(s.total_amount), actual: n(s.t) });
  }

  return { clean: breachCount === 0, anchors: anchorIds.size, ledgerLines, details: n(detailCount?.c), breaches };
}
