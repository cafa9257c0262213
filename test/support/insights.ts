import { newTraceId, type TestPlatform } from './platform';

/** Helpers of the anchor insight tests (stats, top supporters, ranking, top contributors, supporter summary). */

export const ANCHOR_API = '/anchor/api/v1';

export async function sendReward(t: TestPlatform, roomId: number, audienceId: number, amount: string | number): Promise<void> {
  await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('service'))
    .send({ traceId: newTraceId('INS'), audienceId, liveRoomId: roomId, amount })
    .expect(201);
}

/** Sum (fen) and count of the stored reward rows matching `where`: what every figure is checked against. */
export async function storedTotals(
  t: TestPlatform,
  where: Record<string, number>,
): Promise<{ fen: number; count: number; viewers: number }> {
  const row = (await t.db1('recharge').where(where).sum({ s: 'amount' }).count({ n: '*' }).countDistinct({ v: 'audience_id' }).first()) as {
    s: unknown;
    n: unknown;
    v: unknown;
  };
  return { fen: Number(row.s ?? 0), count: Number(row.n), viewers: Number(row.v) };
}

/** `"123.45"` for a number of fen, as the API shows money. */
export function yuan(fen: number): string {
  return `${Math.trunc(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

export async function makeAnonymous(t: TestPlatform, audienceId: number): Promise<void> {
  await t.db1('audience').where({ id: audienceId }).update({ anonymous: true });
}

/** Soft delete as the anchors' DELETE does it (the column exists since migration 001). */
export async function markAnchorDeleted(t: TestPlatform, anchorId: number): Promise<void> {
  await t.db1('anchor').where({ id: anchorId }).update({ deleted_at: '2026-01-01 00:00:00.000' });
}

/** A GET below the anchor API, with the `Authorization` header when given. */
export function get(t: TestPlatform, path: string, auth?: string) {
  const req = t.http.get(`${ANCHOR_API}${path}`);
  return auth ? req.set('Authorization', auth) : req;
}
