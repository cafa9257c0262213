import { toDbTime } from '../../src/shared/db/time';
import { formatFen } from '../../src/shared/money';
import { newTraceId, type TestPlatform } from './platform';

export const ROOM_TOP10 = '/audience/api/v1/recharge/top10';
export const VIEWERS_TOP10 = '/audience/api/v1/recharge/top10/viewers';

export interface BoardItem {
  rank: number;
  audienceId: number | null;
  nickname: string | null;
  totalAmount: string;
  rewardCount: number;
}

export interface BoardBody {
  liveRoomId?: number;
  period: string;
  from: string | null;
  to: string | null;
  items: BoardItem[];
}

export async function roomBoard(t: TestPlatform, roomId: number, period = 'all'): Promise<BoardBody> {
  return (await t.http.get(`${ROOM_TOP10}?liveRoomId=${roomId}&period=${period}`).expect(200)).body as BoardBody;
}

export async function platformBoard(t: TestPlatform, period = 'all'): Promise<BoardBody> {
  return (await t.http.get(`${VIEWERS_TOP10}?period=${period}`).expect(200)).body as BoardBody;
}

/** Sends a reward as the service role; returns its id. */
export async function reward(t: TestPlatform, roomId: number, audienceId: number, amount: string): Promise<number> {
  const res = await t.http
    .post('/audience/api/v1/recharge')
    .set('Authorization', await t.auth('service'))
    .send({ traceId: newTraceId('BRD'), audienceId, liveRoomId: roomId, amount })
    .expect(201);
  return (res.body as { rechargeId: number }).rechargeId;
}

/**
 * What a board must show, computed here on its own from the reward rows: the GROUP BY over
 * `recharge` in `[from, to)`, largest first, ties to the earlier first reward, then the lower id.
 */
export async function expectedBoard(
  t: TestPlatform,
  scope: { liveRoomId: number | null; from: string | null; to: string | null },
): Promise<BoardItem[]> {
  const conditions: Array<[string, string | number | null]> = [
    ['r.live_room_id = ?', scope.liveRoomId],
    ['r.created_at >= ?', scope.from && toDbTime(new Date(scope.from))],
    ['r.created_at < ?', scope.to && toDbTime(new Date(scope.to))],
  ];
  const present = conditions.filter(([, value]) => value !== null);
  const where = present.map(([sql]) => sql);
  const bindings = present.map(([, value]) => value as string | number);
  const [rows] = (await t.db1.raw(
    `SELECT r.audience_id, SUM(r.amount) AS total, COUNT(*) AS n, MIN(r.created_at) AS first_at, a.nickname, a.anonymous
       FROM recharge r JOIN audience a ON a.id = r.audience_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      GROUP BY r.audience_id, a.nickname, a.anonymous
      ORDER BY total DESC, first_at ASC, r.audience_id ASC LIMIT 10`,
    bindings,
  )) as [Array<{ audience_id: number; total: string; n: number; nickname: string; anonymous: number }>];
  return rows.map((row, i) => ({
    rank: i + 1,
    audienceId: row.anonymous ? null : row.audience_id,
    nickname: row.anonymous ? null : row.nickname,
    totalAmount: formatFen(Number(row.total)),
    rewardCount: Number(row.n),
  }));
}

/** The board as the reward rows say it must be, for the board's own period bounds. */
export function expectedFor(t: TestPlatform, body: BoardBody): Promise<BoardItem[]> {
  return expectedBoard(t, { liveRoomId: body.liveRoomId ?? null, from: body.from, to: body.to });
}

/** `top10_loads_total{source}` so far. */
export async function boardLoads(t: TestPlatform, source: 'redis' | 'db'): Promise<number> {
  const metric = t.metrics.registry.getSingleMetric('top10_loads_total');
  const values = metric ? (await metric.get()).values : [];
  return values.find((v) => v.labels['source'] === source)?.value ?? 0;
}
