import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAnchor, createTestPlatform, fundedAnchor as fund, newTraceId, type TestPlatform } from '../support/platform';

/** Every anchor this file moves money for: the ledger audit checks their books at the end. */
const funded: number[] = [];
async function fundedAnchor(platform: TestPlatform, available: string) {
  const stage = await fund(platform, available);
  funded.push(stage.anchorId);
  return stage;
}

const W = '/finance/api/v1/withdrawals';
const A = '/anchor/api/v1/anchors';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(() => t.close());

async function balance(platform: TestPlatform, anchorId: number) {
  return (
    await platform.http
      .get(`/finance/api/v1/balances/${anchorId}`)
      .set('Authorization', await platform.auth('admin'))
      .expect(200)
  ).body as { available: string; frozen: string; totalIncome: string; totalWithdrawn: string };
}

async function apply(platform: TestPlatform, anchorId: number, amount: string, requestId = newTraceId('WD')) {
  return platform.http
    .post(W)
    .set('Authorization', await platform.auth('anchor', anchorId))
    .send({ anchorId, amount, requestId });
}

async function admin(platform: TestPlatform, id: number, action: 'approve' | 'pay' | 'reject', body?: object) {
  return platform.http
    .post(`${W}/${id}/${action}`)
    .set('Authorization', await platform.auth('admin'))
    .send(body ?? {});
}

async function cancel(platform: TestPlatform, anchorId: number, id: number) {
  return platform.http
    .post(`${A}/${anchorId}/withdrawals/${id}/cancel`)
    .set('Authorization', await platform.auth('anchor', anchorId))
    .send();
}

/** The ledger of one anchor, summed: what the balance must equal. */
async function ledger(platform: TestPlatform, anchorId: number) {
  const rows = (await platform.db2('balance_ledger').where({ anchor_id: anchorId }).orderBy('id')) as Array<{
    entry_type: string;
    available_delta: number;
    frozen_delta: number;
    available_after: number;
    frozen_after: number;
    trace_id: string | null;
  }>;
  return {
    types: rows.map((r) => r.entry_type),
    available: rows.reduce((sum, r) => sum + Number(r.available_delta), 0),
    frozen: rows.reduce((sum, r) => sum + Number(r.frozen_delta), 0),
    last: rows[rows.length - 1],
    rows,
  };
}

describe('applying for a withdrawal', () => {
  it('when an anchor asks for part of its available balance, then 201 PENDING in the core shape and the amount moves to frozen with a ledger line', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const requestId = newTraceId('WD');
    const res = await apply(t, anchorId, '30.50', requestId).then((r) => r);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body as object).sort()).toEqual(['amount', 'anchorId', 'createdAt', 'status', 'withdrawalId']);
    expect(res.body).toMatchObject({ anchorId, amount: '30.50', status: 'PENDING' });
    expect(await balance(t, anchorId)).toMatchObject({
      available: '69.50',
      frozen: '30.50',
      totalIncome: '100.00',
      totalWithdrawn: '0.00',
    });
    const lines = await ledger(t, anchorId);
    expect(lines.types).toEqual(['SETTLEMENT', 'WITHDRAWAL_APPLY']);
    expect(lines.last).toMatchObject({ available_delta: -3050, frozen_delta: 3050, available_after: 6950, frozen_after: 3050 });
    expect(lines.last?.trace_id).toEqual(res.headers['x-trace-id']);
  });

  it('when the same requestId comes again with the same amount, then 200 the same withdrawal and nothing moves twice; another amount is 409 IDEMPOTENCY_CONFLICT', async () => {
    const { anchorId } = await fundedAnchor(t, '50.00');
    const requestId = newTraceId('WD');
    const first = await apply(t, anchorId, '20.00', requestId);
    const again = await apply(t, anchorId, '20.00', requestId);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await apply(t, anchorId, '21.00', requestId);
    expect({ status: other.status, code: other.body.code }).toEqual({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
    expect(await balance(t, anchorId)).toMatchObject({ available: '30.00', frozen: '20.00' });
    expect((await ledger(t, anchorId)).types).toEqual(['SETTLEMENT', 'WITHDRAWAL_APPLY']);
  });

  it('when the amount is more than available, below the minimum or not an amount, then 409 or 400 with its code and nothing is stored', async () => {
    const { anchorId } = await fundedAnchor(t, '15.00');
    const cases = [
      ['15.01', 409, 'INSUFFICIENT_BALANCE'],
      ['9.99', 409, 'WITHDRAWAL_BELOW_MINIMUM'],
      ['0', 400, 'VALIDATION_FAILED'],
      ['-1.00', 400, 'VALIDATION_FAILED'],
      ['1.001', 400, 'VALIDATION_FAILED'],
      ['1e3', 400, 'VALIDATION_FAILED'],
    ] as const;
    const seen: Array<[string, number, string]> = [];
    for (const [amount] of cases) {
      const res = await apply(t, anchorId, amount);
      seen.push([amount, res.status, res.body.code]);
    }
    expect(seen).toEqual(cases.map((c) => [...c]));
    const unknownField = await t.http
      .post(W)
      .set('Authorization', await t.auth('anchor', anchorId))
      .send({ anchorId, amount: '10.00', requestId: newTraceId('WD'), note: 'x' });
    expect(unknownField.status).toBe(400);
    expect(await t.db2('withdrawal').where({ anchor_id: anchorId })).toHaveLength(0);
    expect(await balance(t, anchorId)).toMatchObject({ available: '15.00', frozen: '0.00' });
  });

  it('when an anchor asks for another anchor, or an anchor that has no balance asks, then 403 and 409', async () => {
    const { anchorId } = await fundedAnchor(t, '20.00');
    const other = await createAnchor(t, 'Poor');
    const forOther = await t.http
      .post(W)
      .set('Authorization', await t.auth('anchor', other))
      .send({ anchorId, amount: '10.00', requestId: newTraceId('WD') });
    expect(forOther.status).toBe(403);
    const poor = await apply(t, other, '10.00');
    expect({ status: poor.status, code: poor.body.code }).toEqual({ status: 409, code: 'INSUFFICIENT_BALANCE' });
  });
});

describe('reviewing and paying', () => {
  it('when an admin approves and pays, then frozen moves to withdrawn once; every later transition is 409 INVALID_STATE', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const id = (await apply(t, anchorId, '40.00')).body.withdrawalId as number;
    const approved = await admin(t, id, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ withdrawalId: id, anchorId, amount: '40.00', status: 'APPROVED' });
    expect(approved.body).not.toHaveProperty('reason');
    const paid = await admin(t, id, 'pay');
    expect(paid.body).toMatchObject({ status: 'PAID' });
    expect(await balance(t, anchorId)).toMatchObject({
      available: '60.00',
      frozen: '0.00',
      totalIncome: '100.00',
      totalWithdrawn: '40.00',
    });
    const later = await Promise.all([
      admin(t, id, 'pay'),
      admin(t, id, 'approve'),
      admin(t, id, 'reject', { reason: 'too late' }),
      cancel(t, anchorId, id),
    ]);
    expect(later.map((r) => [r.status, r.body.code])).toEqual(Array(4).fill([409, 'INVALID_STATE']));
    expect((await ledger(t, anchorId)).types).toEqual(['SETTLEMENT', 'WITHDRAWAL_APPLY', 'WITHDRAWAL_PAY']);
  });

  it('when an admin rejects with a reason, then the amount is available again and the reason is shown; pay before approve is 409', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const id = (await apply(t, anchorId, '25.00')).body.withdrawalId as number;
    const early = await admin(t, id, 'pay');
    expect({ status: early.status, code: early.body.code }).toEqual({ status: 409, code: 'INVALID_STATE' });
    const noReason = await admin(t, id, 'reject', {});
    expect(noReason.status).toBe(400);
    const rejected = await admin(t, id, 'reject', { reason: '  Bank details do not match  ' });
    expect(rejected.body).toMatchObject({ status: 'REJECTED', reason: 'Bank details do not match' });
    const got = await t.http
      .get(`${W}/${id}`)
      .set('Authorization', await t.auth('anchor', anchorId))
      .expect(200);
    expect(got.body).toEqual(rejected.body);
    expect(await balance(t, anchorId)).toMatchObject({ available: '100.00', frozen: '0.00' });
    const lines = await ledger(t, anchorId);
    expect(lines.types).toEqual(['SETTLEMENT', 'WITHDRAWAL_APPLY', 'WITHDRAWAL_REJECT']);
    expect({ available: lines.available, frozen: lines.frozen }).toEqual({ available: 10_000, frozen: 0 });
  });

  it('when the anchor cancels a PENDING withdrawal through the anchor module, then it is CANCELLED and the amount is back; another anchor gets 404', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const stranger = await createAnchor(t, 'Stranger');
    const applied = await t.http
      .post(`${A}/${anchorId}/withdrawals`)
      .set('Authorization', await t.auth('anchor', anchorId))
      .send({ amount: '12.34', requestId: newTraceId('WD') });
    expect(applied.status).toBe(201);
    const id = applied.body.withdrawalId as number;
    const foreign = await cancel(t, stranger, id);
    expect({ status: foreign.status, code: foreign.body.code }).toEqual({ status: 404, code: 'WITHDRAWAL_NOT_FOUND' });
    const foreignRead = await t.http.get(`${W}/${id}`).set('Authorization', await t.auth('anchor', stranger));
    expect(foreignRead.status).toBe(404);
    const cancelled = await cancel(t, anchorId, id);
    expect(cancelled.body).toMatchObject({ withdrawalId: id, status: 'CANCELLED', amount: '12.34' });
    expect((await cancel(t, anchorId, id)).status).toBe(409);
    expect(await balance(t, anchorId)).toMatchObject({ available: '100.00', frozen: '0.00' });
  });

  it('when withdrawals are listed, then paged newest first and filtered by status and anchor, through finance and through the anchor module', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const ids: number[] = [];
    for (const amount of ['10.00', '11.00', '12.00']) ids.push((await apply(t, anchorId, amount)).body.withdrawalId as number);
    await admin(t, ids[1] as number, 'approve');
    const all = await t.http
      .get(W)
      .query({ anchorId, pageSize: 2 })
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect({ total: all.body.total, page: all.body.page, pageSize: all.body.pageSize }).toEqual({ total: 3, page: 1, pageSize: 2 });
    expect(all.body.items.map((w: { withdrawalId: number }) => w.withdrawalId)).toEqual([ids[2], ids[1]]);
    const approved = await t.http
      .get(W)
      .query({ anchorId, status: 'APPROVED' })
      .set('Authorization', await t.auth('admin'))
      .expect(200);
    expect(approved.body.items.map((w: { withdrawalId: number }) => w.withdrawalId)).toEqual([ids[1]]);
    const own = await t.http
      .get(`${A}/${anchorId}/withdrawals`)
      .query({ status: 'PENDING' })
      .set('Authorization', await t.auth('anchor', anchorId))
      .expect(200);
    expect(own.body.items.map((w: { withdrawalId: number }) => w.withdrawalId)).toEqual([ids[2], ids[0]]);
    expect(own.body.items[0]).toMatchObject({ anchorId, amount: '12.00', status: 'PENDING', requestId: expect.any(String) });
    for (const query of [{ status: 'DONE' }, { pageSize: 101 }, { anchorId: 'x' }]) {
      const bad = await t.http
        .get(W)
        .query(query)
        .set('Authorization', await t.auth('admin'));
      expect({ query, status: bad.status }).toEqual({ query, status: 400 });
    }
  });
});

describe('withdrawals at once (MariaDB row locks)', () => {
  it('when 50 withdrawals of 10.00 race on exactly 100.00, then exactly 10 succeed, available ends at 0.00 and frozen at 100.00', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const answers = await Promise.all(Array.from({ length: 50 }, () => apply(t, anchorId, '10.00')));
    const statuses = answers.map((r) => (r.status === 201 ? 201 : `${r.status} ${r.body.code}`));
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === '409 INSUFFICIENT_BALANCE')).toHaveLength(40);
    expect(await balance(t, anchorId)).toMatchObject({ available: '0.00', frozen: '100.00' });
    const lines = await ledger(t, anchorId);
    expect(lines.types.filter((type) => type === 'WITHDRAWAL_APPLY')).toHaveLength(10);
    expect({ available: lines.available, frozen: lines.frozen }).toEqual({ available: 0, frozen: 10_000 });
  });

  it('when two withdrawals of 60.00 race on 100.00, then exactly one succeeds', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const answers = await Promise.all([apply(t, anchorId, '60.00'), apply(t, anchorId, '60.00')]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(await balance(t, anchorId)).toMatchObject({ available: '40.00', frozen: '60.00' });
  });

  it('when one requestId is sent 20 times at once, then one withdrawal, 19 replays', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const requestId = newTraceId('WD');
    const answers = await Promise.all(Array.from({ length: 20 }, () => apply(t, anchorId, '10.00', requestId)));
    expect(answers.map((r) => r.status).sort()).toEqual([...Array(19).fill(200), 201]);
    expect(new Set(answers.map((r) => r.body.withdrawalId)).size).toBe(1);
    expect(await balance(t, anchorId)).toMatchObject({ available: '90.00', frozen: '10.00' });
  });

  it('when two pays of one withdrawal race, then it is paid once', async () => {
    const { anchorId } = await fundedAnchor(t, '100.00');
    const id = (await apply(t, anchorId, '50.00')).body.withdrawalId as number;
    await admin(t, id, 'approve');
    const answers = await Promise.all([admin(t, id, 'pay'), admin(t, id, 'pay')]);
    expect(answers.map((r) => [r.status, r.body.code ?? r.body.status]).sort()).toEqual([
      [200, 'PAID'],
      [409, 'INVALID_STATE'],
    ]);
    expect(await balance(t, anchorId)).toMatchObject({ available: '50.00', frozen: '0.00', totalWithdrawn: '50.00' });
    expect((await ledger(t, anchorId)).types.filter((type) => type === 'WITHDRAWAL_PAY')).toHaveLength(1);
  });

  it('when approve races cancel, then exactly one wins and the money follows the winner', async () => {
    for (let round = 0; round < 5; round += 1) {
      const { anchorId } = await fundedAnchor(t, '100.00');
      const id = (await apply(t, anchorId, '30.00')).body.withdrawalId as number;
      const [approved, cancelled] = await Promise.all([admin(t, id, 'approve'), cancel(t, anchorId, id)]);
      expect([approved.status, cancelled.status].sort()).toEqual([200, 409]);
      const state = approved.status === 200 ? 'APPROVED' : 'CANCELLED';
      expect((await t.db2('withdrawal').where({ id }).first()).status).toBe(state);
      expect(await balance(t, anchorId)).toMatchObject(
        state === 'APPROVED' ? { available: '70.00', frozen: '30.00' } : { available: '100.00', frozen: '0.00' },
      );
    }
  });
});

describe('withdrawal guards', () => {
  let guarded: TestPlatform;
  beforeAll(async () => {
    guarded = await createTestPlatform({ WITHDRAWAL_MIN_AMOUNT: '1.00', WITHDRAWAL_MAX_OPEN: '2', WITHDRAWAL_DAILY_CAP: '50.00' });
  });
  afterAll(() => guarded.close());

  it('when an anchor has WITHDRAWAL_MAX_OPEN requests open, then the next is 409 TOO_MANY_OPEN_WITHDRAWALS until one closes', async () => {
    const { anchorId } = await fundedAnchor(guarded, '100.00');
    expect((await apply(guarded, anchorId, '1.00')).status).toBe(201);
    const second = (await apply(guarded, anchorId, '1.00')).body.withdrawalId as number;
    const third = await apply(guarded, anchorId, '1.00');
    expect({ status: third.status, code: third.body.code }).toEqual({ status: 409, code: 'TOO_MANY_OPEN_WITHDRAWALS' });
    await admin(guarded, second, 'reject', { reason: 'one at a time' });
    expect((await apply(guarded, anchorId, '1.00')).status).toBe(201);
  });

  it('when the day’s requests would pass WITHDRAWAL_DAILY_CAP, then 409 DAILY_WITHDRAWAL_LIMIT; rejected ones do not count', async () => {
    const { anchorId } = await fundedAnchor(guarded, '100.00');
    const first = (await apply(guarded, anchorId, '30.00')).body.withdrawalId as number;
    const over = await apply(guarded, anchorId, '20.01');
    expect({ status: over.status, code: over.body.code }).toEqual({ status: 409, code: 'DAILY_WITHDRAWAL_LIMIT' });
    expect((await apply(guarded, anchorId, '20.00')).status).toBe(201);
    await admin(guarded, first, 'reject', { reason: 'changed my mind' });
    expect((await apply(guarded, anchorId, '30.00')).status).toBe(201);
    expect(await balance(guarded, anchorId)).toMatchObject({ available: '50.00', frozen: '50.00' });
  });
});

describe('the ledger audit after all of the above', () => {
  it('when the books of every anchor this file moved money for are audited, then no breach; a balance changed behind the ledger is one', async () => {
    const report = await t.finance.audit({ anchorIds: funded });
    expect({ breaches: report.breaches, anchors: report.anchors }).toEqual({ breaches: [], anchors: funded.length });
    expect(report.clean).toBe(true);
    expect(report.ledgerLines).toBeGreaterThan(funded.length * 2);

    const victim = funded[0] as number;
    await t.db2('anchor_balance').where({ anchor_id: victim }).increment('available', 1);
    try {
      const broken = await t.finance.audit({ anchorIds: [victim] });
      expect(broken.clean).toBe(false);
      expect(broken.breaches.map((b) => b.check).sort()).toEqual(['balance-equals-ledger', 'parts-add-up-to-income']);
    } finally {
      await t.db2('anchor_balance').where({ anchor_id: victim }).decrement('available', 1);
    }
    expect((await t.finance.audit({ anchorIds: [victim] })).clean).toBe(true);
  });
});

describe('the hold period (INCOME_HOLD_MS)', () => {
  let held: TestPlatform;
  let later: TestPlatform;
  beforeAll(async () => {
    held = await createTestPlatform({ INCOME_HOLD_MS: '60000' });
    // The same databases a minute and a bit later: the income settled now is out of its hold there.
    later = await createTestPlatform({ INCOME_HOLD_MS: '60000' }, { clock: () => new Date(Date.now() + 61_000) });
  });
  afterAll(async () => {
    await Promise.all([held.close(), later.close()]);
  });

  it('when income was settled within the hold, then it is pending, part of available but not withdrawable; after the hold it is', async () => {
    const { anchorId } = await fundedAnchor(held, '30.00');
    const owner = await held.auth('anchor', anchorId);
    expect(await balance(held, anchorId)).toEqual({
      anchorId,
      available: '30.00',
      frozen: '0.00',
      totalIncome: '30.00',
      totalWithdrawn: '0.00',
      pending: '30.00',
    });
    const facade = await held.http.get(`${A}/${anchorId}/balance`).set('Authorization', owner).expect(200);
    expect(facade.body).toMatchObject({ available: '30.00', pending: '30.00' });
    const early = await apply(held, anchorId, '10.00');
    expect({ status: early.status, code: early.body.code }).toEqual({ status: 409, code: 'INSUFFICIENT_BALANCE' });
    expect(early.body.detail).toMatch(/30\.00 is income still on hold/);

    expect(await balance(later, anchorId)).toMatchObject({ available: '30.00', pending: '0.00' });
    expect((await apply(later, anchorId, '10.00')).status).toBe(201);
    // Without a hold the balance keeps API.md's core shape: no `pending` at all.
    expect(Object.keys(await balance(t, anchorId)).sort()).toEqual(['anchorId', 'available', 'frozen', 'totalIncome', 'totalWithdrawn']);
  });
});
