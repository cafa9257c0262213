import type { Redis } from 'ioredis';
import { AppError } from '../../shared/http/app-error';
import type { RedisHandle } from '../../shared/redis';
import { deletedTogether, isProtected, type KeySpace } from './key-space';

/** SCAN calls one listing may make: with a MATCH that few keys meet, each call may return none. */
const SCANS_PER_PAGE = 10;
/** HSCAN / SSCAN calls one preview may make (a sparse hash table may answer few elements per call). */
const PREVIEW_SCANS = 20;
/** Elements of a hash, list, set, sorted set or stream shown by `GET /keys/{key}`. */
export const PREVIEW_ELEMENTS = 100;
/** Characters of a string value shown. */
const PREVIEW_CHARS = 10_000;

export type KeyType = 'string' | 'hash' | 'list' | 'set' | 'zset' | 'stream';

export interface KeyEntry {
  key: string;
  type: KeyType;
  /** Seconds left, as Redis's TTL: -1 when the key does not expire. */
  ttl: number;
}

export interface KeyPage {
  items: KeyEntry[];
  /** "0" when the scan is done. */
  cursor: string;
}

export interface KeyDetail extends KeyEntry {
  /** Characters of a string, elements of the others. */
  size: number;
  /** A string; an object for a hash; `[{ member, score }]` for a sorted set (highest first); an array for a list or set; `[{ id, fields }]` for a stream (newest first). */
  value: unknown;
  /** Whether `value` shows only part of the key (the first PREVIEW_ELEMENTS elements, or 10,000 characters). */
  truncated: boolean;
}

/** Pairs `[a, 1, b, 2]` -> `[[a, 1], [b, 2]]`. */
function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

/** Up to PREVIEW_ELEMENTS elements of a hash or set, by HSCAN / SSCAN (never the whole of a large key at once). */
async function scanElements(client: Redis, key: string, kind: 'hscan' | 'sscan', perElement: number): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  let calls = 0;
  do {
    const [next, batch] = kind === 'hscan' ? await client.hscan(key, cursor, 'COUNT', 100) : await client.sscan(key, cursor, 'COUNT', 100);
    found.push(...batch);
    cursor = next;
    calls += 1;
  } while (cursor !== '0' && found.length < PREVIEW_ELEMENTS * perElement && calls < PREVIEW_SCANS);
  return found.slice(0, PREVIEW_ELEMENTS * perElement);
}

async function preview(client: Redis, key: string, type: KeyType): Promise<{ size: number; value: unknown }> {
  switch (type) {
    case 'string': {
      const [size, value] = await Promise.all([client.strlen(key), client.getrange(key, 0, PREVIEW_CHARS - 1)]);
      return { size, value };
    }
    case 'hash': {
      const [size, flat] = await Promise.all([client.hlen(key), scanElements(client, key, 'hscan', 2)]);
      return { size, value: Object.fromEntries(pairs(flat)) };
    }
    case 'list': {
      const [size, value] = await Promise.all([client.llen(key), client.lrange(key, 0, PREVIEW_ELEMENTS - 1)]);
      return { size, value };
    }
    case 'set': {
      const [size, value] = await Promise.all([client.scard(key), scanElements(client, key, 'sscan', 1)]);
      return { size, value };
    }
    case 'zset': {
      const [size, flat] = await Promise.all([client.zcard(key), client.zrevrange(key, 0, PREVIEW_ELEMENTS - 1, 'WITHSCORES')]);
      return { size, value: pairs(flat).map(([member, score]) => ({ member, score: Number(score) })) };
    }
    case 'stream': {
      const [size, entries] = await Promise.all([client.xlen(key), client.xrevrange(key, '+', '-', 'COUNT', PREVIEW_ELEMENTS)]);
      return { size, value: entries.map(([id, fields]) => ({ id, fields: Object.fromEntries(pairs(fields)) })) };
    }
    default:
      // No key of this service has another type; one written by hand is shown without its value.
      return { size: 0, value: null };
  }
}

/** A Redis command that failed (a timeout, a dropped connection, a key that changed type meanwhile): 503, try again. */
async function answered<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw AppError.unavailable('Redis did not answer the cache request; try again shortly.', error);
  }
}

/**
 * The cache endpoints' view of Redis: this service's keys by pattern (SCAN, a bounded number of
 * calls per page), one key with its type, TTL and a bounded preview, and deleting one. Every call
 * needs a Redis that answers: 503 otherwise (without REDIS_URL there is no cache to manage).
 */
export function createKeyBrowser(deps: { redis: RedisHandle; keySpace: KeySpace }) {
  const { keySpace } = deps;

  function usableClient(): Redis {
    const client = deps.redis.client;
    if (!client) throw AppError.unavailable('No Redis is configured (REDIS_URL): the service keeps no cache.');
    if (!deps.redis.isUsable()) throw AppError.unavailable('Redis does not answer; try again shortly.');
    return client;
  }

  /** Type and TTL of each key, in one round trip; keys gone since the SCAN are left out. */
  async function describe(client: Redis, keys: readonly string[]): Promise<KeyEntry[]> {
    if (keys.length === 0) return [];
    const pipeline = client.pipeline();
    for (const key of keys) pipeline.type(key).ttl(key);
    const replies = (await pipeline.exec()) ?? [];
    return keys.flatMap((key, i) => {
      const [typeError, type] = replies[2 * i] ?? [];
      const [ttlError, ttl] = replies[2 * i + 1] ?? [];
      const failed = typeError ?? ttlError;
      if (failed) throw failed;
      if (type === 'none' || ttl === -2) return [];
      return [{ key, type: type as KeyType, ttl: Number(ttl) }];
    });
  }

  async function list(query: { pattern: string; count: number; cursor: string }): Promise<KeyPage> {
    const { match } = keySpace.pattern(query.pattern);
    const client = usableClient();
    const keys = new Set<string>();
    let cursor = query.cursor;
    for (let call = 0; call < SCANS_PER_PAGE; call += 1) {
      const [next, batch] = await client.scan(cursor, 'MATCH', match, 'COUNT', query.count);
      for (const full of batch) {
        const key = keySpace.fromScanned(full);
        if (key !== null) keys.add(key);
      }
      cursor = next;
      if (cursor === '0' || keys.size >= query.count) break;
    }
    return { items: await describe(client, [...keys]), cursor };
  }

  async function get(name: string): Promise<KeyDetail> {
    const key = keySpace.key(name);
    const client = usableClient();
    const [entry] = await describe(client, [key]);
    if (!entry) throw AppError.notFound('KEY_NOT_FOUND', `No key "${key}".`);
    const { size, value } = await preview(client, key, entry.type);
    return { ...entry, size, value, truncated: entry.type === 'string' ? size > PREVIEW_CHARS : size > PREVIEW_ELEMENTS };
  }

  async function remove(name: string): Promise<void> {
    const key = keySpace.key(name);
    if (isProtected(key))
      throw AppError.conflict(
        'KEY_PROTECTED',
        `"${key}" holds rewards not yet in DB1, or keeps the realtime figures, a board, the event replay, the sweep or a job's lease exact; deleting it would lose or double-count rewards or runs. To start a room's keys over: POST /cache/api/v1/rebuild/live-rooms/{liveRoomId}.`,
      );
    const removed = await usableClient().del(...deletedTogether(key));
    if (removed === 0) throw AppError.notFound('KEY_NOT_FOUND', `No key "${key}".`);
  }

  return {
    list: (query: { pattern: string; count: number; cursor: string }): Promise<KeyPage> => answered(() => list(query)),
    get: (name: string): Promise<KeyDetail> => answered(() => get(name)),
    delete: (name: string): Promise<void> => answered(() => remove(name)),
    /** Deletes keys the service itself names (no check): a rebuild's second drop of a room's cached row. */
    drop: (keys: readonly string[]): Promise<void> => answered(async () => void (await usableClient().del(...keys))),
    usableClient,
    answered,
  };
}

export type KeyBrowser = ReturnType<typeof createKeyBrowser>;
