import { auditLedger } from '../src/modules/finance';
import { toDbTime } from '../src/shared/db/time';
import { fetchJson } from '../test/support/fetch-json';
import type { Acknowledged, Stage } from './load';
import type { World } from './world';

export interface Invariant {
  name: string;
  ok: boolean;
  detail?: unknown;
}

type Num = number | string | null;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Triggers the sync until nothing is pending (every reward settled), or gives up after `timeoutMs`. */
export async function settleEverything(world: World, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let pending = Number.NaN;
  while (Date.now() < deadline) {
    const res = await fetchJson<{ pending?: number }>(world.instances[0]!.url, 'POST', '/audience/api/v1/sync/trigger', {
      auth: world.admin,
      timeoutMs: 30_000,
    }).catch(() => null);
    pending = res?.body.pending ?? Number.NaN;
    if (res?.status === 200 && pending === 0) return 0;
    await sleep(1000);
  }
  return pending;
}

async function roomFigures(world: World, stage: Stage): Promise<Map<number, { count: number; fen: number }>> {
  const ids = stage.roomIds.join(',');
  const res = await fetchJson<{ items: Array<{ liveRoomId: number; rechargeCount: number; totalEarnings: string }> }>(
    world.instances[0]!.url,
    'GET',
    `/anchor/api/v1/live-rooms/realtime?ids=${ids}`,
  );
  return new Map(
    res.body.items.map((item) => [item.liveRoomId, { count: item.rechargeCount, fen: Math.round(Number(item.totalEarnings) * 100) }]),
  );
}

interface RoomTotalsRow {
  live_room_id: number;
  n: Num;
  s: Num;
}

async function roomTruth(world: World): Promise<Map<number, { count: number; fen: number }>> {
  const rows: RoomTotalsRow[] = await world.direct
    .db1('recharge')
    .select('live_room_id')
    .count({ n: '*' })
    .sum({ s: 'amount' })
    .groupBy('live_room_id');
  return new Map(rows.map((r) => [r.live_room_id, { count: Number(r.n), fen: Number(r.s ?? 0) }]));
}

/** Waits (up to `timeoutMs`) until every room's public figures equal the reward table; returns how long it took, or the last difference. */
export async function realtimeSettles(world: World, stage: Stage, timeoutMs = 20_000): Promise<{ ms: number; differences: unknown[] }> {
  const started = Date.now();
  let differences: unknown[] = [];
  while (Date.now() - started < timeoutMs) {
    const [shown, truth] = await Promise.all([
      roomFigures(world, stage).catch(() => new Map<number, { count: number; fen: number }>()),
      roomTruth(world),
    ]);
    differences = stage.roomIds
      .map((id) => ({ liveRoomId: id, shown: shown.get(id) ?? null, truth: truth.get(id) ?? { count: 0, fen: 0 } }))
      .filter((d) => d.shown === null || d.shown.count !== d.truth.count || d.shown.fen !== d.truth.fen);
    if (differences.length === 0) return { ms: Date.now() - started, differences };
    await sleep(250);
  }
  return { ms: Number.NaN, differences };
}

interface StoredRow {
  id: number;
  trace_id: string;
  amount: number;
  live_room_id: number;
  sync_status: string;
}

interface DetailRow {
  recharge_id: number;
  amount: number;
  anchor_amount: number;
  platform_amount: number;
  anchor_id: number;
}

interface BalanceRow {
  anchor_id: number;
  available: number;
  frozen: number;
  total_income: number;
  total_withdrawn: number;
}

/** The invariants of the books, checked on the databases directly once every fault has ended. */
export async function audit(world: World, acknowledged: ReadonlyMap<string, Acknowledged>): Promise<Invariant[]> {
  const { db1, db2 } = world.direct;
  const rewards = await db1<StoredRow>('recharge').select('id', 'trace_id', 'amount', 'live_room_id', 'sync_status');
  const stored = new Map(rewards.map((r) => [r.trace_id, r]));
  const lostOrWrong = [...acknowledged.values()].filter((a) => {
    const row = stored.get(a.traceId);
    return !row || row.id !== a.rechargeId || row.amount !== a.amountFen || row.live_room_id !== a.liveRoomId;
  });
  const details = await db2<DetailRow>('settlement_detail').select(
    'recharge_id',
    'amount',
    'anchor_amount',
    'platform_amount',
    'anchor_id',
  );
  const rewardsFen = [...stored.values()].reduce((sum, r) => sum + r.amount, 0);
  const settledFen = details.reduce((sum, d) => sum + d.amount, 0);
  const unsynced = [...stored.values()].filter((r) => r.sync_status !== 'SYNCED').length;
  const badSplits = details.filter((d) => d.anchor_amount + d.platform_amount !== d.amount);
  const shares = new Map<number, number>();
  for (const d of details) shares.set(d.anchor_id, (shares.get(d.anchor_id) ?? 0) + d.anchor_amount);
  const balances = await db2<BalanceRow>('anchor_balance').select('anchor_id', 'available', 'frozen', 'total_income', 'total_withdrawn');
  const badBalances = balances.filter(
    (b) => b.total_income !== (shares.get(b.anchor_id) ?? 0) || b.available + b.frozen + b.total_withdrawn !== b.total_income,
  );
  const consumption = (await db1('audience').sum({ s: 'total_amount' }).first()) as { s: Num } | undefined;
  // The same audit as `npm run cli -- audit`: every ledger line, balance and split.
  const ledger = await auditLedger(db2);
  return [
    {
      name: 'every acknowledged reward is stored once, under the id and with the amount and room it was answered with',
      ok: lostOrWrong.length === 0,
      detail: lostOrWrong.slice(0, 10),
    },
    { name: 'every reward is settled (SYNCED)', ok: unsynced === 0, detail: { unsynced } },
    {
      name: 'no reward is settled twice',
      ok: new Set(details.map((d) => d.recharge_id)).size === details.length,
      detail: { details: details.length },
    },
    {
      name: 'Σ settled = Σ rewards, to the fen',
      ok: settledFen === rewardsFen && details.length === stored.size,
      detail: { settledFen, rewardsFen, details: details.length, rewards: stored.size },
    },
    { name: 'anchor share + platform share = amount, for every settlement', ok: badSplits.length === 0, detail: badSplits.slice(0, 5) },
    { name: 'every balance = Σ its anchor shares, and its parts add up', ok: badBalances.length === 0, detail: badBalances.slice(0, 5) },
    {
      name: 'the ledger audit (cli audit) finds no breach: balance = Σ ledger line by line, income = Σ shares, splits add up',
      ok: ledger.clean,
      detail: { anchors: ledger.anchors, ledgerLines: ledger.ledgerLines, breaches: ledger.breaches.slice(0, 5) },
    },
    {
      name: 'Σ viewers consumption = Σ rewards',
      ok: Number(consumption?.s ?? 0) === rewardsFen,
      detail: { consumption: Number(consumption?.s ?? 0), rewardsFen },
    },
  ];
}

interface BoardAnswer {
  from: string | null;
  to: string | null;
  items: Array<{ audienceId: number | null; totalAmount: string; rewardCount: number }>;
}

interface BoardTruthRow {
  audience_id: number;
  s: Num;
  n: Num;
}

/** A board as the reward rows make it: the 10 largest totals, ties to the earlier first reward, then the lower id. */
async function boardTruth(world: World, liveRoomId: number | null, answer: BoardAnswer): Promise<Array<[number, number, number]>> {
  const query = world.direct
    .db1('recharge')
    .select('audience_id')
    .sum({ s: 'amount' })
    .count({ n: '*' })
    .min({ f: 'created_at' })
    .groupBy('audience_id')
    .orderBy([
      { column: 's', order: 'desc' },
      { column: 'f', order: 'asc' },
      { column: 'audience_id', order: 'asc' },
    ])
    .limit(10);
  if (liveRoomId !== null) void query.where('live_room_id', liveRoomId);
  if (answer.from) void query.where('created_at', '>=', toDbTime(new Date(answer.from)));
  if (answer.to) void query.where('created_at', '<', toDbTime(new Date(answer.to)));
  return ((await query) as BoardTruthRow[]).map((r) => [r.audience_id, Number(r.s ?? 0), Number(r.n)]);
}

/**
 * Waits (up to `timeoutMs`) until every TOP10 board — each room's and the platform's, for the day
 * and for all time, read from every instance — equals the reward rows; returns how long it took, or
 * the last differences.
 */
export async function boardsSettle(world: World, stage: Stage, timeoutMs = 60_000): Promise<{ ms: number; differences: unknown[] }> {
  const started = Date.now();
  const paths = [
    ...stage.roomIds.flatMap((id) =>
      ['day', 'all'].map((period) => ({ liveRoomId: id, path: `/audience/api/v1/recharge/top10?liveRoomId=${id}&period=${period}` })),
    ),
    ...['day', 'all'].map((period) => ({ liveRoomId: null, path: `/audience/api/v1/recharge/top10/viewers?period=${period}` })),
  ];
  let differences: unknown[] = [];
  while (Date.now() - started < timeoutMs) {
    differences = [];
    for (const instance of world.instances) {
      for (const { liveRoomId, path } of paths) {
        const res = await fetchJson<BoardAnswer>(instance.url, 'GET', path).catch(() => null);
        if (res?.status !== 200) {
          differences.push({ instance: instance.name, path, status: res?.status ?? null });
          continue;
        }
        const shown = res.body.items.map((i): [number, number, number] => [
          i.audienceId ?? 0,
          Math.round(Number(i.totalAmount) * 100),
          i.rewardCount,
        ]);
        const truth = await boardTruth(world, liveRoomId, res.body);
        if (JSON.stringify(shown) !== JSON.stringify(truth)) differences.push({ instance: instance.name, path, shown, truth });
      }
    }
    if (differences.length === 0) return { ms: Date.now() - started, differences };
    await sleep(1000);
  }
  return { ms: Number.NaN, differences: differences.slice(0, 5) };
}
