import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { defineLuaCommand, readLuaScript } from '../../../shared/lua-script';

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
 *   live:room:events:{id}          the room's reward events (a stream capped at the last EVENTS_KEPT,
 *                                  ids = the room's reward count then): the SSE replay log
 * and the channel live:room:event_notify:{id}, on which each apply that added events publishes the last id.
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
    events: `live:room:events:${tag}`,
  };
}

/** The pub/sub channel announcing a room's new events (channels are not prefixed by ioredis: the prefix is added here). */
export function eventChannel(keyPrefix: string, liveRoomId: number): string {
  return `${keyPrefix}live:room:event_notify:{${liveRoomId}}`;
}

/** How the event log of a room is kept: at least its last `kept` events, the whole log dropped after `ttlMs` without one. */
export interface EventLogSettings {
  kept: number;
  ttlMs: number;
}

/** A reward as the apply script counts it and logs its event. */
export interface RewardToApply {
  rechargeId: number;
  amountFen: number;
  audienceId: number;
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

/** How long the ids of the last flushed delta are kept to refuse late duplicates in Redis. */
const FLUSHED_IDS_TTL_MS = 15 * 60_000;

const READ_SCRIPT = 'liveRoomReadRealtime';
const PRIME_SCRIPT = 'liveRoomPrimeBase';

/** The scripts, one file each (KEYS, ARGV and the reply in each file's header); view.lua is the part APPLY and READ share. */
const LUA_DIR = join(__dirname, 'lua');

type Reply = Array<string | number | null>;

function num(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** view(k)'s reply (lua/view.lua) from `offset` on, by the positions its header lists. */
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
  /**
   * Adds rewards of one room in one atomic call, logging an event for each added one; `fresh[i]`
   * says whether the i-th was new to Redis. 'need-base' (nothing changed) when Redis holds no base
   * of the room and `base` is null or older than a flush acknowledged since: read DB1, call again.
   */
  apply(
    liveRoomId: number,
    rewards: readonly RewardToApply[],
    now: Date,
    base: { value: NonNullable<RedisView['base']>; ttlMs: number } | null,
  ): Promise<{ fresh: boolean[]; view: RedisView } | 'need-base'>;
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

/** The API's floor: a reconnecting client finds at least the room's last 1000 events. */
export const DEFAULT_EVENT_LOG: EventLogSettings = { kept: 1000, ttlMs: 24 * 3600_000 };

export function createRealtimeStore(client: Redis, keyPrefix: string, events: EventLogSettings = DEFAULT_EVENT_LOG): RealtimeStore {
  const define = (name: string, numberOfKeys: number, ...files: string[]) =>
    defineLuaCommand(client, name, numberOfKeys, readLuaScript(LUA_DIR, ...files));
  const applyScript = define('liveRoomApplyReward', 9, 'view.lua', 'apply.lua');
  const readScript = define(READ_SCRIPT, 5, 'view.lua', 'read.lua');
  const primeScript = define(PRIME_SCRIPT, 2, 'prime.lua');
  const snapshotScript = define('liveRoomSnapshotDelta', 6, 'snapshot.lua');
  const ackScript = define('liveRoomAckFlush', 5, 'ack.lua');
  const raiseFloorScript = define('liveRoomRaiseFloor', 1, 'raise-floor.lua');

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
    async apply(liveRoomId, rewards, now, base) {
      const k = roomKeys(liveRoomId);
      const b = base?.value;
      const baseArgs = b ? [1, b.earnings, b.count, b.flushId, b.anchorId, b.status, b.updatedAtMs, base.ttlMs] : [0, 0, 0, 0, 0, '', 0, 0];
      const triples = rewards.flatMap((r) => [r.rechargeId, r.amountFen, r.audienceId]);
      const reply = (await applyScript(
        k.earnings,
        k.count,
        k.pendingIds,
        k.flushingIds,
        k.meta,
        k.base,
        k.flushing,
        k.flushedIds,
        k.events,
        now.getTime(),
        eventChannel(keyPrefix, liveRoomId),
        events.kept,
        events.ttlMs,
        ...baseArgs,
        ...triples,
      )) as Reply;
      if (reply.length === 1 && reply[0] === -1) return 'need-base';
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
