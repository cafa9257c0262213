import type { Redis } from 'ioredis';

/**
 * The Redis side of a room's realtime figures. Every key of a room carries the room id as a
 * Redis Cluster hash tag (`{789}`), so one Lua script may touch them all atomically.
 *
 *   live:room:earnings:{id}        pending delta of earnings (fen) not yet flushed to DB1
 *   live:room:recharge_count:{id}  pending delta of the reward count
 *   live:room:pending_ids:{id}     rechargeId -> amount of that pending delta (exactly-once + flush)
 *   live:room:flushing:{id}        a delta being flushed: id, earnings, count (survives a crash)
 *   live:room:flushing_ids:{id}    rechargeId -> amount of the delta being flushed
 *   live:room:flushed_ids:{id}     the ids of the last flushed delta, kept a while so a late
 *                                  duplicate is refused in Redis too (DB1's journal refuses any)
 *   live:room:meta:{id}            last_acked flush id, updated_at (ms) of the last reward, and
 *                                  floor: DB1's journal floor (ids at or below it are counted)
 *   live:room:base:{id}            a short-lived cache of the DB1 row (and the room's status)
 */
export function roomKeys(liveRoomId: number) {
  const tag = `{${liveRoomId}}`;
  return {
    earnings: `live:room:earnings:${tag}`,
    count: `live:room:recharge_count:${tag}`,
    pendingIds: `live:room:pending_ids:${tag}`,
    flushing: `live:room:flushing:${tag}`,
    flushingIds: `live:room:flushing_ids:${tag}`,
    flushedIds: `live:room:flushed_ids:${tag}`,
    meta: `live:room:meta:${tag}`,
    base: `live:room:base:${tag}`,
  };
}

/** Key patterns that mark a room with something to flush (for the flush cron's SCAN). */
export const FLUSHABLE_PATTERNS = ['live:room:recharge_count:*', 'live:room:flushing:*'] as const;

export function roomIdOfKey(key: string): number | null {
  const match = /\{(\d+)\}$/.exec(key);
  return match ? Number(match[1]) : null;
}

/** Everything a read needs, in one atomic reply. Missing values are null. */
export interface RedisView {
  pendingEarnings: number;
  pendingCount: number;
  flushing: { id: number; earnings: number; count: number } | null;
  base: { earnings: number; count: number; flushId: number; anchorId: number; status: string; updatedAtMs: number } | null;
  lastRewardAtMs: number | null;
}

// Returns the room's view as a flat list: pending (2), flushing (3), base (6), meta updated_at (1).
const VIEW_LUA = `
local function view(k)
  local out = { redis.call('GET', k.earnings), redis.call('GET', k.count) }
  for _, v in ipairs(redis.call('HMGET', k.flushing, 'id', 'earnings', 'count')) do table.insert(out, v) end
  for _, v in ipairs(redis.call('HMGET', k.base, 'earnings', 'count', 'flush_id', 'anchor_id', 'status', 'updated_at')) do table.insert(out, v) end
  table.insert(out, redis.call('HGET', k.meta, 'updated_at'))
  return out
end
`;

/**
 * Adds rewards to the pending delta, each unless Redis already holds it (pending, flushing or just
 * flushed) or it lies at or below the room's journal floor (counted long ago). KEYS: earnings count pendingIds flushingIds meta base flushing flushedIds;
 * ARGV: nowMs, then rechargeId amount pairs. Returns one 1|0 per pair, then the view.
 */
const APPLY_LUA = `${VIEW_LUA}
local k = { earnings = KEYS[1], count = KEYS[2], meta = KEYS[5], base = KEYS[6], flushing = KEYS[7] }
local flags = {}
local added = false
local floor = tonumber(redis.call('HGET', KEYS[5], 'floor') or '0')
for i = 2, #ARGV, 2 do
  local id, amount = ARGV[i], ARGV[i + 1]
  if tonumber(id) > floor and redis.call('HEXISTS', KEYS[3], id) == 0 and redis.call('HEXISTS', KEYS[4], id) == 0 and redis.call('HEXISTS', KEYS[8], id) == 0 then
    redis.call('HSET', KEYS[3], id, amount)
    redis.call('INCRBY', KEYS[1], amount)
    redis.call('INCR', KEYS[2])
    table.insert(flags, 1)
    added = true
  else
    table.insert(flags, 0)
  end
end
if added then redis.call('HSET', KEYS[5], 'updated_at', ARGV[1]) end
for _, v in ipairs(view(k)) do table.insert(flags, v) end
return flags
`;

/** KEYS: earnings count flushing meta base. */
const READ_LUA = `${VIEW_LUA}
return view({ earnings = KEYS[1], count = KEYS[2], flushing = KEYS[3], meta = KEYS[4], base = KEYS[5] })
`;

/**
 * Caches the DB1 row unless a flush newer than that row has been acknowledged meanwhile (the row
 * read would then be stale). KEYS: base meta; ARGV: earnings count flushId anchorId status updatedAtMs ttlMs.
 */
const PRIME_LUA = `
local acked = tonumber(redis.call('HGET', KEYS[2], 'last_acked') or '0')
if acked > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'earnings', ARGV[1], 'count', ARGV[2], 'flush_id', ARGV[3], 'anchor_id', ARGV[4], 'status', ARGV[5], 'updated_at', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
`;

/**
 * Moves the pending delta aside for flushing, or returns the one a crashed flush left behind.
 * The new flush id is the caller's candidate (DB1's last_flush_id + 1) or, when a flush was
 * acknowledged after the caller read DB1 (another instance flushed meanwhile), the next id past
 * it: reusing an id DB1 already holds would make DB1 skip the delta and the acknowledgement drop it.
 * KEYS: earnings count pendingIds flushing flushingIds meta; ARGV: candidate flush id.
 * Returns {id, earnings, count, resumed (1|0)} or nil.
 */
const SNAPSHOT_LUA = `
if redis.call('EXISTS', KEYS[4]) == 1 then
  local f = redis.call('HMGET', KEYS[4], 'id', 'earnings', 'count')
  table.insert(f, 1)
  return f
end
local e = redis.call('GET', KEYS[1])
if not e then return false end
local c = redis.call('GET', KEYS[2]) or '0'
local id = math.max(tonumber(ARGV[1]), tonumber(redis.call('HGET', KEYS[6], 'last_acked') or '0') + 1)
redis.call('HSET', KEYS[4], 'id', id, 'earnings', e, 'count', c)
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[5]) end
redis.call('DEL', KEYS[1], KEYS[2])
return { id, e, c, 0 }
`;

/**
 * Drops a flushed delta once DB1 holds it, keeping its ids a while as the "recently flushed" set.
 * KEYS: flushing flushingIds meta base flushedIds; ARGV: flush id, how long to keep the ids (ms).
 */
const ACK_LUA = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[5])
  redis.call('PEXPIRE', KEYS[5], ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[4])
local acked = tonumber(redis.call('HGET', KEYS[3], 'last_acked') or '0')
if tonumber(ARGV[1]) > acked then redis.call('HSET', KEYS[3], 'last_acked', ARGV[1]) end
return 1
`;

/** KEYS: meta; ARGV: floor id. Raises meta.floor, never lowers it. */
const RAISE_FLOOR_LUA = `
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'floor') or '0') then redis.call('HSET', KEYS[1], 'floor', ARGV[1]) end
return 1
`;

/** How long the ids of the last flushed delta are kept to refuse late duplicates in Redis. */
const FLUSHED_IDS_TTL_MS = 15 * 60_000;

const READ_SCRIPT = 'liveRoomReadRealtime';
const PRIME_SCRIPT = 'liveRoomPrimeBase';

type Reply = Array<string | number | null>;
type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;

function num(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function parseView(reply: Reply, offset = 0): RedisView {
  const at = (i: number) => reply[offset + i] ?? null;
  const flushingId = num(at(2));
  const baseFlushId = num(at(7));
  return {
    pendingEarnings: num(at(0)) ?? 0,
    pendingCount: num(at(1)) ?? 0,
    flushing: flushingId === null ? null : { id: flushingId, earnings: num(at(3)) ?? 0, count: num(at(4)) ?? 0 },
    base:
      baseFlushId === null
        ? null
        : {
            earnings: num(at(5)) ?? 0,
            count: num(at(6)) ?? 0,
            flushId: baseFlushId,
            anchorId: num(at(8)) ?? 0,
            status: String(at(9) ?? ''),
            updatedAtMs: num(at(10)) ?? 0,
          },
    lastRewardAtMs: num(at(11)),
  };
}

export interface RealtimeStore {
  /** Adds rewards of one room in one atomic call; `fresh[i]` says whether the i-th was new to Redis. */
  apply(
    liveRoomId: number,
    rewards: ReadonlyArray<{ rechargeId: number; amountFen: number }>,
    now: Date,
  ): Promise<{ fresh: boolean[]; view: RedisView }>;
  read(liveRoomId: number): Promise<RedisView>;
  /** `read` of several rooms in one round trip (a pipeline: each room's keys share a slot, rooms do not). Fails if any read fails. */
  readMany(liveRoomIds: readonly number[]): Promise<RedisView[]>;
  prime(
    liveRoomId: number,
    row: { earnings: number; count: number; flushId: number; anchorId: number; status: string; updatedAtMs: number },
    ttlMs: number,
  ): Promise<boolean>;
  /** `prime` of several rooms in one round trip. */
  primeMany(rows: ReadonlyArray<{ liveRoomId: number; base: NonNullable<RedisView['base']> }>, ttlMs: number): Promise<void>;
  /** `resumed`: the delta a crashed flush left behind; the pending delta is still waiting behind it. */
  snapshot(liveRoomId: number, candidateId: number): Promise<{ id: number; earnings: number; count: number; resumed: boolean } | null>;
  /** rechargeId -> amount of the delta being flushed, read in pages (HSCAN). */
  flushingRewards(liveRoomId: number): Promise<Map<number, number>>;
  /** rechargeId -> amount of what Redis has counted beyond DB1's last acknowledged flush (pending and flushing). */
  unflushedRewards(liveRoomId: number): Promise<Map<number, number>>;
  ack(liveRoomId: number, flushId: number): Promise<boolean>;
  /** Which of these rewards Redis holds for the room: pending, being flushed, or just flushed. */
  holds(liveRoomId: number, rechargeIds: readonly number[]): Promise<Set<number>>;
  /** The Redis server's run id: it changes when Redis restarts or another server takes over. */
  serverRunId(): Promise<string | null>;
  /** Raises the room's floor in Redis to DB1's (never lowers it). */
  raiseFloor(liveRoomId: number, floorId: number): Promise<void>;
  forgetBase(liveRoomId: number): Promise<void>;
  /** Rooms with a pending or flushing delta (SCAN; bounded by the number of such rooms). */
  roomsToFlush(): Promise<number[]>;
}

export function createRealtimeStore(client: Redis, keyPrefix: string): RealtimeStore {
  const define = (name: string, keys: number, lua: string): ScriptFn => {
    client.defineCommand(name, { numberOfKeys: keys, lua });
    const fn = (client as unknown as Record<string, ScriptFn>)[name];
    if (!fn) throw new Error(`ioredis did not define ${name}`);
    return fn.bind(client);
  };
  const applyScript = define('liveRoomApplyReward', 8, APPLY_LUA);
  const readScript = define(READ_SCRIPT, 5, READ_LUA);
  const primeScript = define(PRIME_SCRIPT, 2, PRIME_LUA);
  const snapshotScript = define('liveRoomSnapshotDelta', 6, SNAPSHOT_LUA);
  const ackScript = define('liveRoomAckFlush', 5, ACK_LUA);
  const raiseFloorScript = define('liveRoomRaiseFloor', 1, RAISE_FLOOR_LUA);

  /** One call of a defined script per argument list, all in one pipeline: one round trip. */
  async function inOnePipeline(script: string, argLists: ReadonlyArray<Array<string | number>>): Promise<unknown[]> {
    const pipeline = client.pipeline();
    const queueCall = (pipeline as unknown as Record<string, ((...args: Array<string | number>) => unknown) | undefined>)[script];
    if (!queueCall) throw new Error(`ioredis pipelines do not know ${script}`);
    for (const args of argLists) queueCall.apply(pipeline, args);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, reply]) => {
      if (error) throw error;
      return reply;
    });
  }

  async function hashIds(key: string): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    let cursor = '0';
    do {
      const [next, flat] = await client.hscan(key, cursor, 'COUNT', 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(Number(flat[i]), Number(flat[i + 1]));
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  return {
    async apply(liveRoomId, rewards, now) {
      const k = roomKeys(liveRoomId);
      const pairs = rewards.flatMap((r) => [r.rechargeId, r.amountFen]);
      const reply = (await applyScript(
        k.earnings,
        k.count,
        k.pendingIds,
        k.flushingIds,
        k.meta,
        k.base,
        k.flushing,
        k.flushedIds,
        now.getTime(),
        ...pairs,
      )) as Reply;
      return { fresh: reply.slice(0, rewards.length).map((flag) => flag === 1), view: parseView(reply, rewards.length) };
    },
    async read(liveRoomId) {
      const k = roomKeys(liveRoomId);
      return parseView((await readScript(k.earnings, k.count, k.flushing, k.meta, k.base)) as Reply);
    },
    async readMany(liveRoomIds) {
      const argLists = liveRoomIds.map((id) => {
        const k = roomKeys(id);
        return [k.earnings, k.count, k.flushing, k.meta, k.base];
      });
      return (await inOnePipeline(READ_SCRIPT, argLists)).map((reply) => parseView(reply as Reply));
    },
    async primeMany(rows, ttlMs) {
      const argLists = rows.map(({ liveRoomId, base }) => {
        const k = roomKeys(liveRoomId);
        return [k.base, k.meta, base.earnings, base.count, base.flushId, base.anchorId, base.status, base.updatedAtMs, ttlMs];
      });
      await inOnePipeline(PRIME_SCRIPT, argLists);
    },
    async prime(liveRoomId, row, ttlMs) {
      const k = roomKeys(liveRoomId);
      return (
        (await primeScript(k.base, k.meta, row.earnings, row.count, row.flushId, row.anchorId, row.status, row.updatedAtMs, ttlMs)) === 1
      );
    },
    async snapshot(liveRoomId, candidateId) {
      const k = roomKeys(liveRoomId);
      const reply = (await snapshotScript(
        k.earnings,
        k.count,
        k.pendingIds,
        k.flushing,
        k.flushingIds,
        k.meta,
        candidateId,
      )) as Reply | null;
      const id = num(reply?.[0]);
      if (!reply || id === null) return null;
      return { id, earnings: num(reply[1]) ?? 0, count: num(reply[2]) ?? 0, resumed: reply[3] === 1 };
    },
    flushingRewards: (liveRoomId) => hashIds(roomKeys(liveRoomId).flushingIds),
    async unflushedRewards(liveRoomId) {
      const k = roomKeys(liveRoomId);
      const [pending, flushing] = await Promise.all([hashIds(k.pendingIds), hashIds(k.flushingIds)]);
      return new Map([...flushing, ...pending]);
    },
    async ack(liveRoomId, flushId) {
      const k = roomKeys(liveRoomId);
      return (await ackScript(k.flushing, k.flushingIds, k.meta, k.base, k.flushedIds, flushId, FLUSHED_IDS_TTL_MS)) === 1;
    },
    async holds(liveRoomId, rechargeIds) {
      const held = new Set<number>();
      if (rechargeIds.length === 0) return held;
      const k = roomKeys(liveRoomId);
      const fields = rechargeIds.map(String);
      const replies = await Promise.all([k.pendingIds, k.flushingIds, k.flushedIds].map((key) => client.hmget(key, ...fields)));
      for (const reply of replies) reply.forEach((value, i) => value !== null && held.add(rechargeIds[i] as number));
      return held;
    },
    async serverRunId() {
      return /^run_id:(\S+)/m.exec(await client.info('server'))?.[1] ?? null;
    },
    async raiseFloor(liveRoomId, floorId) {
      await raiseFloorScript(roomKeys(liveRoomId).meta, floorId);
    },
    async forgetBase(liveRoomId) {
      await client.del(roomKeys(liveRoomId).base);
    },
    async roomsToFlush() {
      const rooms = new Set<number>();
      for (const pattern of FLUSHABLE_PATTERNS) {
        let cursor = '0';
        do {
          // SCAN's MATCH is not prefixed by ioredis; the keys it returns carry the prefix.
          const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}${pattern}`, 'COUNT', 500);
          for (const key of keys) {
            const id = roomIdOfKey(key);
            if (id !== null) rooms.add(id);
          }
          cursor = next;
        } while (cursor !== '0');
      }
      return [...rooms].sort((a, b) => a - b);
    },
  };
}
