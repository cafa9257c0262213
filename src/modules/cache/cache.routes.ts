import { z } from 'zod';
import { route, type AnyRoute } from '../../shared/http/routes';
import { idParam, isoTime, moneyOut } from '../../shared/http/schemas';
import type { CacheService } from './cache.service';
import { KEY_FAMILIES } from './key-space';
import { PREVIEW_ELEMENTS } from './key-browser';

const FAMILIES = KEY_FAMILIES.map((f) => `\`${f.prefix}*\` (${f.holds})`).join('; ');
const KEY_NAMES = `Keys are named as the service names them, without REDIS_KEY_PREFIX (a name given with it is accepted too). This service's key families: ${FAMILIES}. Any other key — another application's, or outside the prefix — is 400 KEY_OUTSIDE_SERVICE.`;

const keyType = z.enum(['string', 'hash', 'list', 'set', 'zset', 'stream']);
const ttl = z.number().int().meta({ description: 'Seconds left, as Redis’s TTL; -1 when the key does not expire.' });
const keyEntrySchema = z.object({ key: z.string(), type: keyType, ttl });

const keyPageSchema = z
  .object({
    items: z.array(keyEntrySchema),
    cursor: z.string().meta({ description: 'Pass it back for the next page; "0" when the scan is done.' }),
  })
  .meta({ id: 'CacheKeyPage' });

const keyDetailSchema = keyEntrySchema
  .extend({
    size: z.number().int().meta({ description: 'Characters of a string; fields, elements, members or entries of the others.' }),
    value: z.unknown().meta({
      description: `A string; an object (hash); an array (list, set); \`[{ member, score }]\`, highest score first (sorted set); \`[{ id, fields }]\`, newest first (stream). At most ${PREVIEW_ELEMENTS} elements or 10,000 characters.`,
    }),
    truncated: z.boolean(),
  })
  .meta({ id: 'CacheKey' });

const hitRate = { hits: z.number(), misses: z.number(), hitRate: z.number().nullable() };
const statsSchema = z
  .object({
    redis: z.object({
      version: z.string(),
      uptimeSeconds: z.number().int(),
      connectedClients: z.number().int(),
      usedMemory: z.number().int().meta({ description: 'Bytes.' }),
      usedMemoryPeak: z.number().int(),
      maxMemory: z.number().int().meta({ description: '0: no limit.' }),
      maxMemoryPolicy: z.string(),
      evictedKeys: z.number().int(),
      expiredKeys: z.number().int(),
    }),
    keyspace: z.object({ db: z.number().int(), keys: z.number().int(), expires: z.number().int() }),
    server: z.object(hitRate).meta({ description: 'Redis’s keyspace hits and misses, every client together, since Redis started.' }),
    service: z.object({ ...hitRate, caches: z.array(z.object({ cache: z.string(), ...hitRate })) }).meta({
      description:
        'This instance’s lookups of data it caches in Redis (realtime figures’ bases, analytics answers) since it started, per cache and together: `redis_cache_requests_total`, the seed’s `redis_hit_rate`.',
    }),
  })
  .meta({ id: 'CacheStats' });

const rebuildSchema = z
  .object({
    liveRoomId: z.number().int(),
    realtime: z.object({
      totalEarnings: moneyOut,
      rechargeCount: z.number().int(),
      source: z.enum(['redis', 'db']),
      updatedAt: isoTime,
    }),
    boards: z.array(
      z.object({
        period: z.enum(['day', 'week', 'month', 'all']),
        from: isoTime.nullable(),
        to: isoTime.nullable(),
        items: z.array(
          z.object({
            rank: z.number().int(),
            audienceId: z.number().int().nullable(),
            nickname: z.string().nullable(),
            totalAmount: moneyOut,
            rewardCount: z.number().int(),
          }),
        ),
      }),
    ),
    rebuiltAt: isoTime,
  })
  .meta({ id: 'CacheRoomRebuild' });

const keyParams = z.strictObject({ key: z.string().min(1).max(600) });

/** The cache endpoints (`/cache/api/v1`, admin). */
export function cacheRoutes(cache: CacheService): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/keys',
      summary: 'This service’s Redis keys matching a pattern, a page at a time (admin)',
      description: `SCAN with MATCH, never KEYS: at most 10 SCAN calls of COUNT \`count\` per page, stopping once \`count\` keys are found, so a page may hold fewer keys (even none) while \`cursor\` is not "0" yet, or a few more than \`count\`. A key may show on two pages if it was written during the scan (SCAN’s guarantee). \`pattern\` (default \`*\`) is a Redis glob whose fixed beginning must lie in one of the families, or begin one (\`*\`, \`top*\`); matches outside the families are never listed. ${KEY_NAMES}`,
      access: ['admin'],
      query: z.strictObject({
        pattern: z.string().min(1).max(200).default('*'),
        count: z.coerce.number().int().min(1).max(1000).default(100),
        cursor: z
          .string()
          // SCAN's cursor is an unsigned 64-bit number: a larger one is Redis's error, not the client's answer.
          .refine((c) => /^\d{1,20}$/.test(c) && BigInt(c) <= 18_446_744_073_709_551_615n, 'must be a cursor from an earlier page, or "0"')
          .default('0'),
      }),
      responses: { 200: { description: 'A page of keys', schema: keyPageSchema } },
      handle: async ({ query }) => ({ status: 200, body: await cache.keys.list(query) }),
    }),
    route({
      method: 'get',
      path: '/keys/{key}',
      summary: 'One of this service’s Redis keys: type, TTL, size and a bounded preview of its value (admin)',
      description: `${KEY_NAMES} 404 KEY_NOT_FOUND when it does not exist.`,
      access: ['admin'],
      params: keyParams,
      responses: { 200: { description: 'The key', schema: keyDetailSchema } },
      handle: async ({ params }) => ({ status: 200, body: await cache.keys.get(params.key) }),
    }),
    route({
      method: 'delete',
      path: '/keys/{key}',
      summary: 'Delete one of this service’s Redis keys (admin)',
      description: `What a cache holds is loaded again on the next read: a room’s cached row, a TOP10 board (its totals and \`:state\` go together), a report answer, a rate-limit window. Keys that hold rewards not yet in DB1 or keep something exact — a room’s pending deltas, flush state, flushed ids, meta and event log, a board scope’s refund count, the sweep cursor, the jobs’ leases and tick claims — are 409 KEY_PROTECTED: rebuild the room instead. ${KEY_NAMES} 404 KEY_NOT_FOUND when it does not exist.`,
      access: ['admin'],
      params: keyParams,
      responses: { 204: { description: 'Deleted' } },
      handle: async ({ params }) => {
        await cache.keys.delete(params.key);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/stats',
      summary: 'Redis memory and keyspace, and the hit rates of what this service caches there (admin)',
      access: ['admin'],
      responses: { 200: { description: 'The figures', schema: statsSchema } },
      handle: async () => ({ status: 200, body: await cache.stats() }),
    }),
    route({
      method: 'post',
      path: '/rebuild/live-rooms/{liveRoomId}',
      summary: 'Rebuild a room’s realtime keys and TOP10 boards from the database (admin)',
      description:
        'The room’s pending delta in Redis is folded into DB1 first (no reward is lost), its DB1 row is counted again from its floor, journal and refunds, and its cached row dropped, so the figures are read from DB1 afresh; its TOP10 boards of the current day, week, month and all time are dropped and rebuilt from the reward table. Answers the figures and boards as rebuilt. The event log (SSE replay) is kept. To check the figures against the reward table itself, run reconciliation (`cli reconcile --repair`, or the `reconcile` job). 404 LIVE_ROOM_NOT_FOUND; 503 while Redis or DB1 does not answer.',
      access: ['admin'],
      params: z.strictObject({ liveRoomId: idParam }),
      responses: { 200: { description: 'The room as rebuilt', schema: rebuildSchema } },
      handle: async ({ params }) => ({ status: 200, body: await cache.rebuildRoom(params.liveRoomId) }),
    }),
  ];
}
