import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../shared/logger';
import { eventChannel, roomIdOfKey, roomKeys } from '../realtime/realtime.redis';
import type { RoomEvent } from './room-event';

/** Entries per XRANGE: a reconnecting client's replay and a busy room's catch-up read in pages. */
export const READ_PAGE = 1000;

type StreamEntry = [id: string, fields: string[]];

function eventOf(liveRoomId: number, [id, fields]: StreamEntry): RoomEvent {
  const field = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) field.set(fields[i] as string, fields[i + 1] as string);
  const num = (name: string) => Number(field.get(name) ?? 0);
  return {
    id: Number(id.split('-')[0]),
    liveRoomId,
    rechargeId: num('r'),
    audienceId: num('a'),
    amountFen: num('m'),
    totalEarningsFen: num('e'),
    rechargeCount: num('c'),
    createdAtMs: num('t'),
  };
}

/**
 * The Redis side of live-room events on this instance: ONE subscriber connection, whatever the
 * number of SSE clients, subscribed to the notification channel of each room that has a client
 * here (apply.lua publishes on it); the events themselves are read from the room's log over the
 * shared command connection. Pub/sub may lose a notification (a reconnect): the reader always
 * reads from the last id it delivered, so the next notification, or the catch-up after a
 * reconnect, brings what was missed.
 */
export function createRedisEventFeed(deps: {
  client: Redis;
  keyPrefix: string;
  logger: Logger;
  /** A room has new events (or may have: after a reconnect every room is named). */
  onNotified: (liveRoomId: number) => void;
}) {
  const { client, keyPrefix, logger } = deps;
  const connectionName = `${keyPrefix.replace(/[^A-Za-z0-9_-]/g, '')}live-events-${randomBytes(4).toString('hex')}`;
  let subscriber: Redis | null = null;
  const watched = new Set<number>();

  function subscriberConnection(): Redis {
    if (subscriber) return subscriber;
    // Commands wait for the connection (bounded: one per watched room); ioredis subscribes again after a reconnect.
    const sub = client.duplicate({ connectionName, enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: false });
    sub.on('error', (error: Error) => logger.debug({ err: error.message }, 'live-events subscriber connection error'));
    // (Re)connected: what was published meanwhile never reached this connection; each room reads its log.
    sub.on('ready', () => watched.forEach((id) => deps.onNotified(id)));
    sub.on('message', (channel: string) => {
      const id = roomIdOfKey(channel);
      if (id !== null && watched.has(id)) deps.onNotified(id);
    });
    subscriber = sub;
    return sub;
  }

  return {
    /** The subscriber connection's CLIENT SETNAME (tests count connections by it). */
    connectionName,

    /** Subscribes to the room's notifications; resolves once Redis confirmed. */
    async watch(liveRoomId: number): Promise<void> {
      watched.add(liveRoomId);
      await subscriberConnection().subscribe(eventChannel(keyPrefix, liveRoomId));
    },

    unwatch(liveRoomId: number): void {
      watched.delete(liveRoomId);
      subscriber?.unsubscribe(eventChannel(keyPrefix, liveRoomId)).catch(() => undefined);
    },

    /** The room's logged events with id > afterId, in order, at most `limit`. */
    async read(liveRoomId: number, afterId: number, limit = READ_PAGE): Promise<RoomEvent[]> {
      // Ids are `<n>-0`: `<afterId>-1` is the first id after afterId.
      const entries = (await client.xrange(roomKeys(liveRoomId).events, `${afterId}-1`, '+', 'COUNT', limit)) as StreamEntry[];
      return entries.map((entry) => eventOf(liveRoomId, entry));
    },

    /** The id of the room's last logged event, 0 when its log is empty. */
    async lastId(liveRoomId: number): Promise<number> {
      const [entry] = (await client.xrevrange(roomKeys(liveRoomId).events, '+', '-', 'COUNT', 1)) as StreamEntry[];
      return entry ? eventOf(liveRoomId, entry).id : 0;
    },

    async close(): Promise<void> {
      watched.clear();
      const sub = subscriber;
      subscriber = null;
      if (sub) await sub.quit().catch(() => sub.disconnect());
    },
  };
}

export type RedisEventFeed = ReturnType<typeof createRedisEventFeed>;
