import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAnchor, createTestPlatform, liveStage, newTraceId, type TestPlatform } from '../support/platform';

let t: TestPlatform;

beforeAll(async () => {
  t = await createTestPlatform();
});

afterAll(() => t.close());

const RATES = '/finance/api/v1/commission-rates';
const SYNC = '/finance/api/v1/recharge/batch-sync';

async function reward(platform: TestPlatform, stage: { roomId: number; viewerIds: number[] }, amount: string): Promise<number> {
  const res = await platform.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await platform.auth('service'))
    .send({ traceId: newTraceId('FIN'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount })
    .expect(201);
  return res.body.rechargeId as number;
}

async function detail(rechargeId: number) {
  return t.db2('settlement_detail').where({ recharge_id: rechargeId }).first();
}

async function balance(anchorId: number) {
  return (
    await t.http
      .get(`/finance/api/v1/balances/${anchorId}`)
      .set('Authorization', await t.auth('admin'))
      .expect(200)
  ).body;
}

describe('commission rates', () => {
  it('when an admin sets a rate, then 201 with the four-decimal rate and the time it takes effect', async () => {
    const anchorId = await createAnchor(t);
    const from = new Date(Date.now() + 3_600_000).toISOString();
    const res = await t.http
      .post(RATES)
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId, rate: 0.7, effectiveFrom: from })
      .expect(201);
    expect(res.body).toEqual({
      rateId: expect.any(Number),
      anchorId,
      rate: '0.7000',
      effectiveFrom: from,
      createdAt: expect.stringMatching(/Z$/),
    });
    expect(await t.db2('commission_rate').where({ anchor_id: anchorId })).toHaveLength(1);
  });

  it('when effectiveFrom is left out or a second in the past (clock skew), then it takes effect now, never earlier', async () => {
    const anchorId = await createAnchor(t);
    const before = Date.now();
    const skewed = await t.http
      .post(RATES)
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId, rate: '0.6', effectiveFrom: new Date(before - 1000).toISOString() })
      .expect(201);
    expect(Date.parse(skewed.body.effectiveFrom)).toBeGreaterThanOrEqual(before);
    const now = await t.http
      .post(RATES)
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId, rate: '1' })
      .expect(201);
    expect(now.body.rate).toBe('1.0000');
    expect(Date.parse(now.body.effectiveFrom)).toBeGreaterThanOrEqual(before);
  });

  it.each([
    ['a rate above 1', { rate: '1.5' }, 'rate'],
    ['five decimals', { rate: '0.12345' }, 'rate'],
    ['a negative rate', { rate: -0.1 }, 'rate'],
    ['a percentage', { rate: '70%' }, 'rate'],
    ['an hour in the past', { rate: '0.5', effectiveFrom: new Date(Date.now() - 3_600_000).toISOString() }, 'effectiveFrom'],
    ['a time that is not ISO', { rate: '0.5', effectiveFrom: 'tomorrow' }, 'effectiveFrom'],
    ['a time past the year 9999 once its offset is applied', { rate: '0.5', effectiveFrom: '9999-12-31T23:59:59-12:00' }, 'effectiveFrom'],
  ])('when the request has %s, then 400 on that field and nothing is stored', async (_case, extra, field) => {
    const anchorId = await createAnchor(t);
    const res = await t.http
      .post(RATES)
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId, ...extra })
      .expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    expect(await t.db2('commission_rate').where({ anchor_id: anchorId })).toHaveLength(0);
  });

  it('when the anchor does not exist, then 404 ANCHOR_NOT_FOUND', async () => {
    const res = await t.http
      .post(RATES)
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId: 987_654_321, rate: '0.5' })
      .expect(404);
    expect(res.body.code).toBe('ANCHOR_NOT_FOUND');
  });
});

describe('commission snapshot at the reward time', () => {
  it('when the rate changes between a reward and its sync, then the reward is split with the rate of its own time', async () => {
    const stage = await liveStage(t, 1);
    const early = await reward(t, stage, '10.01');
    await t.http
      .post(RATES)
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId: stage.anchorId, rate: '0.7000' })
      .expect(201);
    const late = await reward(t, stage, '10.01');
    await t.http
      .post('/audience/api/v1/sync/trigger')
      .set('Authorization', await t.auth('admin'))
      .expect(200);

    expect(await detail(early)).toMatchObject({ amount: 1001, rate_bp: 5000, anchor_amount: 500, platform_amount: 501 });
    expect(await detail(late)).toMatchObject({ amount: 1001, rate_bp: 7000, anchor_amount: 700, platform_amount: 301 });
    expect(await balance(stage.anchorId)).toEqual({
      anchorId: stage.anchorId,
      available: '12.00',
      frozen: '0.00',
      totalIncome: '12.00',
      totalWithdrawn: '0.00',
    });
  });

  it('when a rate starts in the future, then rewards before it keep the old one and rewards after it use the new one', async () => {
    const stage = await liveStage(t, 1);
    const from = new Date(Date.now() + 2 * 3_600_000);
    await t.http
      .post(RATES)
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId: stage.anchorId, rate: '0.9000', effectiveFrom: from.toISOString() })
      .expect(201);
    const now = await reward(t, stage, '1.00');
    const later = await createTestPlatform({}, { clock: () => new Date(from.getTime() + 60_000) });
    try {
      const after = await reward(later, stage, '1.00');
      await later.runSync();
      expect(await detail(now)).toMatchObject({ rate_bp: 5000, anchor_amount: 50 });
      expect(await detail(after)).toMatchObject({ rate_bp: 9000, anchor_amount: 90 });
    } finally {
      await later.close();
    }
  });
});

describe('batch-sync (internal)', () => {
  /** A reward sent through the API, as finance's batch-sync record of it. */
  async function storedRecord(stage: { anchorId: number; roomId: number; viewerIds: number[] }, amount: string) {
    const res = await t.http
      .post('/audience/api/v1/recharge')
      .set('Authorization', await t.auth('service'))
      .send({ traceId: newTraceId('BS'), audienceId: stage.viewerIds[0], liveRoomId: stage.roomId, amount })
      .expect(201);
    const r = res.body as {
      rechargeId: number;
      traceId: string;
      anchorId: number;
      liveRoomId: number;
      audienceId: number;
      amount: string;
      createdAt: string;
    };
    return {
      rechargeId: r.rechargeId,
      traceId: r.traceId,
      anchorId: r.anchorId,
      liveRoomId: r.liveRoomId,
      audienceId: r.audienceId,
      amount: r.amount,
      createdAt: r.createdAt,
    };
  }

  async function refusals(reason: string): Promise<number> {
    const text = (await t.http.get('/actuator/prometheus').expect(200)).text;
    const line = text.split('\n').find((l) => l.startsWith(`settlement_records_refused_total{reason="${reason}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  async function untouched(anchorId: number) {
    return {
      details: await t.db2('settlement_detail').where({ anchor_id: anchorId }),
      settlements: await t.db2('settlement').where({ anchor_id: anchorId }),
      ledger: await t.db2('balance_ledger').where({ anchor_id: anchorId }),
      balance: await balance(anchorId),
    };
  }

  it('when the same records come again, or twice in one batch, then each is settled once and the ledger matches the balance', async () => {
    const stage = await liveStage(t, 1);
    const internal = await t.auth('internal');
    const [a, b] = [await storedRecord(stage, '3.33'), await storedRecord(stage, '0.01')];
    const records = [a, b, a];
    const first = await t.http
      .post(SYNC)
      .set('Authorization', internal)
      .send({ batchId: newTraceId('B'), records })
      .expect(200);
    expect(first.body).toMatchObject({ accepted: 2, duplicates: 1 });
    const again = await t.http
      .post(SYNC)
      .set('Authorization', internal)
      .send({ batchId: newTraceId('B'), records: records.slice(0, 2) })
      .expect(200);
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 2 });

    const details = await t.db2('settlement_detail').where({ anchor_id: stage.anchorId });
    expect(details.map((d) => [d.recharge_id, d.anchor_amount, d.platform_amount]).sort()).toEqual([
      [a.rechargeId, 166, 167],
      [b.rechargeId, 0, 1],
    ]);
    const settlements = await t.db2('settlement').where({ anchor_id: stage.anchorId });
    expect(settlements).toHaveLength(1);
    expect(settlements[0]).toMatchObject({ record_count: 2, total_amount: 334, anchor_amount: 166, platform_amount: 168 });
    const ledger = await t.db2('balance_ledger').where({ anchor_id: stage.anchorId }).orderBy('id');
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({
      entry_type: 'SETTLEMENT',
      available_delta: 166,
      available_after: 166,
      ref_type: 'settlement',
      ref_id: settlements[0].id,
    });
    expect((await balance(stage.anchorId)).available).toBe('1.66');
  });

  it('when a batchId is re-sent with other records, at times concurrently, then those not settled before are settled under that batch and the rest are duplicates, and each of its settlement rows adds up to its details', async () => {
    const [one, two] = [await liveStage(t, 1), await liveStage(t, 1)];
    await t.http
      .post(RATES)
      .set('Authorization', await t.auth('admin'))
      .send({ anchorId: two.anchorId, rate: '0.7000' })
      .expect(201);
    const internal = await t.auth('internal');
    const [a1, a2, a3, a4] = [
      await storedRecord(one, '3.33'),
      await storedRecord(one, '0.01'),
      await storedRecord(one, '7.77'),
      await storedRecord(one, '12.34'),
    ];
    const [b1, b2] = [await storedRecord(two, '9.99'), await storedRecord(two, '0.03')];
    const batchId = newTraceId('RESENT');
    const send = (records: unknown[]) => t.http.post(SYNC).set('Authorization', internal).send({ batchId, records });

    expect((await send([a1, a2]).expect(200)).body).toEqual({ batchId, accepted: 2, duplicates: 0 });
    // Same batch id, other records: a2 again, a3 new for the same anchor, b1 for an anchor new to the batch.
    expect((await send([a2, a3, b1]).expect(200)).body).toEqual({ batchId, accepted: 2, duplicates: 1 });
    // Twice at once with overlapping records: each reward is settled by one of them.
    const racing = await Promise.all([send([a4, b2]), send([b2, a1, a4])]);
    expect(racing.map((r) => r.status)).toEqual([200, 200]);
    expect(racing.reduce((sum, r) => sum + (r.body.accepted as number), 0)).toBe(2);
    expect(racing.reduce((sum, r) => sum + (r.body.duplicates as number), 0)).toBe(3);

    const ours = [a1, a2, a3, a4, b1, b2].map((r) => r.rechargeId);
    const details = await t.db2('settlement_detail').whereIn('recharge_id', ours);
    expect(details.map((d) => d.recharge_id).sort((x, y) => x - y)).toEqual([...ours].sort((x, y) => x - y));
    const settlements = await t.db2('settlement').where({ batch_id: batchId }).orderBy('anchor_id');
    expect(settlements.map((row) => row.anchor_id)).toEqual([one.anchorId, two.anchorId]);
    for (const settlement of settlements) {
      const own = details.filter((d) => d.settlement_id === settlement.id);
      const sum = (key: string) => own.reduce((total, d) => total + Number(d[key]), 0);
      expect({
        anchorId: settlement.anchor_id,
        records: settlement.record_count,
        total: settlement.total_amount,
        anchorShare: settlement.anchor_amount,
        platformShare: settlement.platform_amount,
      }).toEqual({
        anchorId: settlement.anchor_id,
        records: own.length,
        total: sum('amount'),
        anchorShare: sum('anchor_amount'),
        platformShare: sum('platform_amount'),
      });
      expect(settlement.anchor_amount + settlement.platform_amount).toBe(settlement.total_amount);
    }
    expect(settlements.map((row) => [row.record_count, row.total_amount])).toEqual([
      [4, 333 + 1 + 777 + 1234],
      [2, 999 + 3],
    ]);
    // Anchor two at 0.7000: floor(999 × 0.7) + floor(3 × 0.7).
    expect(settlements[1].anchor_amount).toBe(699 + 2);
    for (const stage of [one, two]) {
      const own = details.filter((d) => d.anchor_id === stage.anchorId);
      const share = own.reduce((total, d) => total + Number(d.anchor_amount), 0);
      const ledger = await t.db2('balance_ledger').where({ anchor_id: stage.anchorId }).sum({ s: 'available_delta' }).first();
      expect({ ledger: Number(ledger?.['s']), available: (await balance(stage.anchorId)).available }).toEqual({
        ledger: share,
        available: `${Math.trunc(share / 100)}.${String(share % 100).padStart(2, '0')}`,
      });
    }
  });

  it('when a batch names a reward id that does not exist yet (10,000,000.00), then 409 REWARD_MISMATCH, no money moves, and the real reward that later gets the id is settled', async () => {
    const stage = await liveStage(t, 1);
    const before = await untouched(stage.anchorId);
    const refusedBefore = await refusals('unknown_reward');
    const [rows] = (await t.db1.raw(
      "SELECT AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'recharge'",
    )) as [Array<{ next: number }>];
    const forgedId = Number(rows[0]?.next);
    const forged = {
      rechargeId: forgedId,
      traceId: newTraceId('FORGED'),
      anchorId: stage.anchorId,
      liveRoomId: stage.roomId,
      audienceId: stage.viewerIds[0],
      amount: '10000000.00',
      createdAt: new Date().toISOString(),
    };
    const res = await t.http
      .post(SYNC)
      .set('Authorization', await t.auth('internal'))
      .send({ batchId: newTraceId('B'), records: [forged] });
    expect({ status: res.status, code: res.body.code, errors: res.body.errors }).toEqual({
      status: 409,
      code: 'REWARD_MISMATCH',
      errors: [{ field: 'records[0].rechargeId', message: 'names no stored reward' }],
    });
    expect(await untouched(stage.anchorId)).toEqual(before);
    expect(await refusals('unknown_reward')).toBe(refusedBefore + 1);

    const real = await storedRecord(stage, '2.00');
    expect(real.rechargeId).toBe(forgedId);
    expect(
      (
        await t.http
          .post('/audience/api/v1/sync/trigger')
          .set('Authorization', await t.auth('admin'))
          .expect(200)
      ).body.synced,
    ).toBeGreaterThanOrEqual(1);
    expect(await detail(forgedId)).toMatchObject({ amount: 200, anchor_id: stage.anchorId, anchor_amount: 100 });
    expect(await balance(stage.anchorId)).toMatchObject({ available: '1.00', totalIncome: '1.00' });
  });

  it('when a record differs from its stored reward (amount, anchor, room, viewer, traceId, time), then the whole batch is 409 naming each field and nothing is settled', async () => {
    const stage = await liveStage(t, 1);
    const other = await liveStage(t, 1);
    const good = await storedRecord(stage, '1.00');
    const real = await storedRecord(stage, '1.00');
    const before = { mine: await untouched(stage.anchorId), theirs: await untouched(other.anchorId) };
    const refusedBefore = await refusals('mismatch');
    const lie = {
      ...real,
      amount: '9999.00',
      anchorId: other.anchorId,
      liveRoomId: other.roomId,
      audienceId: other.viewerIds[0],
      traceId: newTraceId('LIE'),
      createdAt: '2020-01-01T00:00:00.000Z',
    };
    const res = await t.http
      .post(SYNC)
      .set('Authorization', await t.auth('internal'))
      .send({ batchId: newTraceId('B'), records: [good, lie] })
      .expect(409);
    expect(res.body.code).toBe('REWARD_MISMATCH');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(
      ['amount', 'anchorId', 'audienceId', 'createdAt', 'liveRoomId', 'traceId'].map((f) => `records[1].${f}`).sort(),
    );
    expect({ mine: await untouched(stage.anchorId), theirs: await untouched(other.anchorId) }).toEqual(before);
    expect(await refusals('mismatch')).toBe(refusedBefore + 1);
  });

  it.each([
    ['no records', { records: [] }, 'records'],
    [
      'a bad amount',
      {
        records: [
          { rechargeId: 1, traceId: 'x', anchorId: 1, liveRoomId: 1, audienceId: 1, amount: '1.001', createdAt: '2026-01-01T00:00:00Z' },
        ],
      },
      'records[0].amount',
    ],
    [
      'a bad time',
      { records: [{ rechargeId: 1, traceId: 'x', anchorId: 1, liveRoomId: 1, audienceId: 1, amount: '1.00', createdAt: 'yesterday' }] },
      'records[0].createdAt',
    ],
    [
      'a time past the year 9999',
      {
        records: [
          {
            rechargeId: 1,
            traceId: 'x',
            anchorId: 1,
            liveRoomId: 1,
            audienceId: 1,
            amount: '1.00',
            createdAt: '9999-12-31T23:59:59-12:00',
          },
        ],
      },
      'records[0].createdAt',
    ],
    [
      'a time before 1970',
      {
        records: [
          { rechargeId: 1, traceId: 'x', anchorId: 1, liveRoomId: 1, audienceId: 1, amount: '1.00', createdAt: '0500-01-01T00:00:00Z' },
        ],
      },
      'records[0].createdAt',
    ],
    [
      'an amount above the 10,000,000.00 ceiling',
      {
        records: [
          {
            rechargeId: 1,
            traceId: 'x',
            anchorId: 1,
            liveRoomId: 1,
            audienceId: 1,
            amount: '9999999999999.99',
            createdAt: '2026-01-01T00:00:00Z',
          },
        ],
      },
      'records[0].amount',
    ],
  ])('when the batch has %s, then 400 on that field and nothing is settled', async (_case, body, field) => {
    const before = await t.db2('settlement_detail').count({ n: '*' }).first();
    const res = await t.http
      .post(SYNC)
      .set('Authorization', await t.auth('internal'))
      .send({ batchId: newTraceId('B'), ...body })
      .expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    expect(await t.db2('settlement_detail').count({ n: '*' }).first()).toEqual(before);
  });
});

describe('balances', () => {
  it('when an anchor has never been paid, then its balance is all zeros; an unknown anchor is 404; another anchor is 403', async () => {
    const anchorId = await createAnchor(t);
    const own = await t.http
      .get(`/finance/api/v1/balances/${anchorId}`)
      .set('Authorization', await t.auth('anchor', anchorId))
      .expect(200);
    expect(own.body).toEqual({ anchorId, available: '0.00', frozen: '0.00', totalIncome: '0.00', totalWithdrawn: '0.00' });
    const missing = await t.http
      .get('/finance/api/v1/balances/987654321')
      .set('Authorization', await t.auth('admin'))
      .expect(404);
    expect(missing.body.code).toBe('ANCHOR_NOT_FOUND');
    await t.http
      .get(`/finance/api/v1/balances/${anchorId}`)
      .set('Authorization', await t.auth('anchor', anchorId + 1))
      .expect(403);
  });
});

describe('commission rates in force, history and withdrawal of a future rate', () => {
  const setRate = async (anchorId: number, rate: string, effectiveFrom?: string) =>
    (
      await t.http
        .post(RATES)
        .set('Authorization', await t.auth('admin'))
        .send({ anchorId, rate, ...(effectiveFrom ? { effectiveFrom } : {}) })
        .expect(201)
    ).body as { rateId: number; effectiveFrom: string };

  it('when an anchor has no rate of its own, then its effective rate is the default with source "default"; once set, its own with source "anchor"', async () => {
    const anchorId = await createAnchor(t);
    const read = async (path: string) =>
      (
        await t.http
          .get(path)
          .set('Authorization', await t.auth('anchor', anchorId))
          .expect(200)
      ).body;
    expect(await read(`${RATES}/${anchorId}`)).toEqual({ anchorId, rate: '0.5000', source: 'default', effectiveFrom: null });
    const own = await setRate(anchorId, '0.6500');
    await setRate(anchorId, '0.9000', new Date(Date.now() + 3_600_000).toISOString());
    const effective = { anchorId, rate: '0.6500', source: 'anchor', effectiveFrom: own.effectiveFrom };
    expect(await read(`${RATES}/${anchorId}`)).toEqual(effective);
    // The anchor module's facade answers the same.
    expect(await read(`/anchor/api/v1/anchors/${anchorId}/commission-rate`)).toEqual(effective);
    const other = await createAnchor(t);
    const foreign = await t.http.get(`${RATES}/${anchorId}`).set('Authorization', await t.auth('anchor', other));
    expect(foreign.status).toBe(403);
    const missing = await t.http.get(`${RATES}/987654321`).set('Authorization', await t.auth('admin'));
    expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 404, code: 'ANCHOR_NOT_FOUND' });
  });

  it('when the history is read, then every rate newest effectiveFrom first, the future ones included, paged; the facade answers the same', async () => {
    const anchorId = await createAnchor(t);
    const now = await setRate(anchorId, '0.6000');
    const soon = await setRate(anchorId, '0.7000', new Date(Date.now() + 60_000).toISOString());
    const later = await setRate(anchorId, '0.8000', new Date(Date.now() + 120_000).toISOString());
    const auth = await t.auth('admin');
    const page1 = (await t.http.get(`${RATES}/${anchorId}/history`).query({ pageSize: 2 }).set('Authorization', auth).expect(200)).body;
    expect(page1).toMatchObject({ page: 1, pageSize: 2, total: 3 });
    expect(page1.items.map((r: { rateId: number }) => r.rateId)).toEqual([later.rateId, soon.rateId]);
    expect(page1.items[0]).toEqual({
      rateId: later.rateId,
      anchorId,
      rate: '0.8000',
      effectiveFrom: later.effectiveFrom,
      createdAt: expect.any(String),
    });
    const page2 = (await t.http.get(`${RATES}/${anchorId}/history`).query({ pageSize: 2, page: 2 }).set('Authorization', auth).expect(200))
      .body;
    expect(page2.items.map((r: { rateId: number }) => r.rateId)).toEqual([now.rateId]);
    const facade = (
      await t.http
        .get(`/anchor/api/v1/anchors/${anchorId}/commission-rate/history`)
        .query({ pageSize: 2 })
        .set('Authorization', auth)
        .expect(200)
    ).body;
    expect(facade).toEqual(page1);
  });

  it('when a rate not yet in force is deleted, then 204 and it is gone; one in force is 409 RATE_ALREADY_EFFECTIVE; another anchor’s id is 404', async () => {
    const anchorId = await createAnchor(t);
    const other = await createAnchor(t);
    const current = await setRate(anchorId, '0.6000');
    const future = await setRate(anchorId, '0.7000', new Date(Date.now() + 3_600_000).toISOString());
    const auth = await t.auth('admin');
    const wrongAnchor = await t.http.delete(`${RATES}/${other}/${future.rateId}`).set('Authorization', auth);
    expect({ status: wrongAnchor.status, code: wrongAnchor.body.code }).toEqual({ status: 404, code: 'RATE_NOT_FOUND' });
    await t.http.delete(`${RATES}/${anchorId}/${future.rateId}`).set('Authorization', auth).expect(204);
    const again = await t.http.delete(`${RATES}/${anchorId}/${future.rateId}`).set('Authorization', auth);
    expect(again.status).toBe(404);
    const effective = await t.http.delete(`${RATES}/${anchorId}/${current.rateId}`).set('Authorization', auth);
    expect({ status: effective.status, code: effective.body.code }).toEqual({ status: 409, code: 'RATE_ALREADY_EFFECTIVE' });
    const history = (await t.http.get(`${RATES}/${anchorId}/history`).set('Authorization', auth).expect(200)).body;
    expect(history.items.map((r: { rateId: number }) => r.rateId)).toEqual([current.rateId]);
  });

  it('when the rates in force are listed, then one per anchor with its own: the latest started, not a future one', async () => {
    const anchorId = await createAnchor(t);
    await setRate(anchorId, '0.6000');
    const second = await setRate(anchorId, '0.6100');
    await setRate(anchorId, '0.9900', new Date(Date.now() + 3_600_000).toISOString());
    const auth = await t.auth('admin');
    const items: Array<{ anchorId: number; rateId: number; rate: string }> = [];
    for (let page = 1; ; page += 1) {
      const body = (await t.http.get(RATES).query({ page, pageSize: 100 }).set('Authorization', auth).expect(200)).body;
      items.push(...body.items);
      if (page * 100 >= body.total) break;
    }
    const mine = items.filter((r) => r.anchorId === anchorId);
    expect(mine).toEqual([expect.objectContaining({ rateId: second.rateId, rate: '0.6100' })]);
    expect(new Set(items.map((r) => r.anchorId)).size).toBe(items.length);
  });
});
