import type { Response } from 'express';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import { formatFen } from '../../../shared/money';
import type { LocalEventLog } from './local-event-log';
import type { LiveEventsMetrics } from './live-events.metrics';
import type { RedisEventFeed } from './redis-event-feed';
import { READ_PAGE } from './redis-event-feed';
import { mergeById, type RoomEvent } from './room-event';
import { openSseConnection, type EncodedEvent, type SseConnection, type SseLimits } from './sse-connection';
import type { ViewerProfiles } from './viewer-profiles';

/**
 * Events per read of a room's log for the live feed: small enough that delivering a page to every
 * client leaves the event loop free for other replies (a Redis command waiting behind a long turn
 * would time out).
 */
const LIVE_PAGE = 200;
const RETRY_READ_MS = 250;

export interface LiveEventsSettings extends SseLimits {
  heartbeatMs: number;
  /** SSE clients this instance serves at most; one more is answered 503. */
  maxSubscribers: number;
  /** How long a new client waits for Redis to confirm its room's subscription before it goes on without. */
  redisWaitMs: number;
}

/** The rooms with clients here: each one's clients, and how far its Redis log was delivered. */
interface RoomFeed {
  clients: Set<SseConnection>;
  /** The last Redis-logged event delivered here; null until known (read before the first delivery). */
  lastId: number | null;
  /** Subscribed to the room's notifications (false without Redis, or when it did not confirm). */
  ready: Promise<void>;
  reading: boolean;
  readAgain: boolean;
  /** Deliveries of the room, one after another, so every client sees its events in order. */
  deliveries: Promise<void>;
}

/**
 * The live-room events of this instance: rooms -> SSE clients. Events come from the room's Redis
 * log (announced on one subscriber connection per instance) and from this instance's own log (the
 * rewards counted straight into DB1); each is encoded once, with the viewer looked up then, and
 * fanned out to the room's clients. A client is subscribed first and replayed second, so nothing
 * falls between the replay and the live feed; its connection skips what it already sent.
 */
export function createLiveEventsHub(deps: {
  feed: RedisEventFeed | null;
  /** Whether Redis answers now (reads are not tried otherwise). */
  redisUsable: () => boolean;
  local: LocalEventLog;
  profilesOf: ViewerProfiles;
  metrics: LiveEventsMetrics;
  logger: Logger;
  settings: LiveEventsSettings;
}) {
  const { feed, local, metrics, logger, settings } = deps;
  const rooms = new Map<number, RoomFeed>();
  let subscribers = 0;
  let heartbeat: NodeJS.Timeout | null = null;
  let closed = false;

  async function encode(events: readonly RoomEvent[]): Promise<EncodedEvent[]> {
    if (events.length === 0) return [];
    const profiles = await deps.profilesOf(events.map((e) => e.audienceId));
    return events.map((event) => {
      const viewer = profiles.get(event.audienceId);
      const shown = viewer && !viewer.anonymous ? viewer : null;
      const data = {
        rechargeId: event.rechargeId,
        audienceId: shown ? event.audienceId : null,
        nickname: shown ? shown.nickname : null,
        amount: formatFen(event.amountFen),
        totalEarnings: formatFen(event.totalEarningsFen),
        rechargeCount: event.rechargeCount,
        createdAt: new Date(event.createdAtMs).toISOString(),
      };
      return { id: event.id, frame: `id: ${event.id}\nevent: reward\ndata: ${JSON.stringify(data)}\n\n` };
    });
  }

  /** Queues the events behind the room's earlier deliveries; a failed one is logged and does not stop the next. */
  function deliver(room: RoomFeed, events: readonly RoomEvent[]): Promise<void> {
    room.deliveries = room.deliveries
      .then(async () => {
        const encoded = await encode(events);
        for (const client of room.clients) client.offer(encoded);
        metrics.sent.inc(encoded.length * room.clients.size);
      })
      .catch((error: unknown) => logger.warn({ err: error, liveRoomId: events[0]?.liveRoomId }, 'live-events: delivery failed'));
    return room.deliveries;
  }

  /** Reads the room's Redis log past what was delivered, page by page; one reader per room, again if notified meanwhile. */
  async function catchUp(liveRoomId: number, room: RoomFeed): Promise<void> {
    if (room.reading) {
      room.readAgain = true;
      return;
    }
    if (!feed || rooms.get(liveRoomId) !== room) return;
    room.reading = true;
    try {
      if (!deps.redisUsable()) throw new Error('redis does not answer now');
      do {
        room.readAgain = false;
        room.lastId ??= await feed.lastId(liveRoomId);
        let page: RoomEvent[];
        do {
          page = await feed.read(liveRoomId, room.lastId, LIVE_PAGE);
          room.lastId = page.at(-1)?.id ?? room.lastId;
          if (page.length > 0) await deliver(room, page);
        } while (page.length === LIVE_PAGE);
      } while (room.readAgain);
    } catch (error) {
      // No notification may follow (the room went quiet): read again shortly, while the room has clients here.
      logger.debug({ err: error, liveRoomId }, 'live-events: reading the room log failed; reading again shortly');
      setTimeout(() => void catchUp(liveRoomId, room), RETRY_READ_MS).unref();
    } finally {
      room.reading = false;
    }
  }

  function roomFeed(liveRoomId: number): RoomFeed {
    const existing = rooms.get(liveRoomId);
    if (existing) return existing;
    const room: RoomFeed = {
      clients: new Set(),
      lastId: null,
      ready: Promise.resolve(),
      reading: false,
      readAgain: false,
      deliveries: Promise.resolve(),
    };
    if (feed) {
      room.ready = withTimeout(feed.watch(liveRoomId), settings.redisWaitMs)
        .then(() => catchUp(liveRoomId, room))
        .catch((error: unknown) => logger.debug({ err: error, liveRoomId }, 'live-events: subscription not confirmed yet'));
    }
    rooms.set(liveRoomId, room);
    return room;
  }

  function leave(liveRoomId: number, room: RoomFeed, client: SseConnection): void {
    if (!room.clients.delete(client)) return;
    subscribers -= 1;
    metrics.subscribers.set(subscribers);
    if (room.clients.size === 0 && rooms.get(liveRoomId) === room) {
      rooms.delete(liveRoomId);
      feed?.unwatch(liveRoomId);
    }
    if (subscribers === 0 && heartbeat) {
      clearInterval(heartbeat);
      heartbeat = null;
    }
  }

  function beat(): void {
    for (const room of rooms.values()) for (const client of room.clients) client.comment('keep-alive');
  }

  /** Events after `afterId` still kept: the Redis log (when it answers) and this instance's own log, merged by id. */
  async function replayOf(liveRoomId: number, afterId: number): Promise<RoomEvent[]> {
    const fromRedis: RoomEvent[] = [];
    if (feed && deps.redisUsable()) {
      try {
        let page: RoomEvent[];
        let after = afterId;
        do {
          page = await feed.read(liveRoomId, after);
          fromRedis.push(...page);
          after = page.at(-1)?.id ?? after;
        } while (page.length === READ_PAGE);
      } catch (error) {
        logger.warn({ err: error, liveRoomId }, 'live-events: replay from redis failed; replaying this instance’s log only');
      }
    }
    return mergeById(fromRedis, local.after(liveRoomId, afterId));
  }

  return {
    /**
     * Serves `res` as the room's event stream (the room was checked to exist). 503 before the
     * stream starts when this instance serves its maximum of clients, or is shutting down.
     */
    async subscribe(liveRoomId: number, res: Response, lastEventId: number | null): Promise<void> {
      if (closed || subscribers >= settings.maxSubscribers) {
        metrics.refused.inc();
        throw AppError.unavailable('This instance serves as many event streams as it may; try again shortly.');
      }
      const room = roomFeed(liveRoomId);
      const client = openSseConnection(res, settings, (reason) => metrics.dropped.inc({ reason }));
      room.clients.add(client);
      subscribers += 1;
      metrics.subscribers.set(subscribers);
      heartbeat ??= setInterval(beat, settings.heartbeatMs).unref();
      res.on('close', () => leave(liveRoomId, room, client));
      try {
        await room.ready;
        const startAfter = lastEventId ?? Math.max(room.lastId ?? 0, local.lastId(liveRoomId));
        const encoded = lastEventId === null ? [] : await encode(await replayOf(liveRoomId, lastEventId));
        // After the room's deliveries in flight, so a live event already offered is not overtaken.
        await room.deliveries;
        client.finishReplay(encoded, startAfter);
        // Live from here on: a client may count on every event after this line.
        client.comment('stream open');
      } catch (error) {
        // The stream has started: no problem+json any more; the client reconnects and replays.
        logger.warn({ err: error, liveRoomId }, 'live-events: could not start the stream');
        client.end();
      }
    },

    /** A Redis notification: the room has new events in its log. */
    notified(liveRoomId: number): void {
      const room = rooms.get(liveRoomId);
      if (room) void catchUp(liveRoomId, room);
    },

    /**
     * A reward counted straight into DB1 (no Redis event): logged here and sent to this instance's
     * clients. Its id never falls below what this instance has seen of the room.
     */
    publishLocal(event: Omit<RoomEvent, 'id'>): void {
      const room = rooms.get(event.liveRoomId);
      const seen = Math.max(local.lastId(event.liveRoomId), room?.lastId ?? 0);
      const logged: RoomEvent = { ...event, id: Math.max(event.rechargeCount, seen + 1) };
      local.append(logged);
      if (room) void deliver(room, [logged]);
    },

    subscriberCount: (): number => subscribers,

    /** Ends every stream (shutdown) and refuses new ones; clients reconnect to another instance. */
    async close(): Promise<void> {
      closed = true;
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      for (const room of rooms.values()) for (const client of room.clients) client.end();
      rooms.clear();
      await feed?.close();
    },
  };
}

export type LiveEventsHub = ReturnType<typeof createLiveEventsHub>;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not confirmed within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
