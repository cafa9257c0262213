import type { Response } from 'express';

/** An event as it goes on the wire, encoded once per instance and shared by every client. */
export interface EncodedEvent {
  id: number;
  frame: string;
}

export type DropReason = 'slow' | 'queue';

export interface SseLimits {
  /** Bytes a client may leave unread in this process before another batch; past it the client is dropped (it reconnects and replays). */
  maxBufferedBytes: number;
  /** Live events held while the client's replay is being read; past it the client is dropped. */
  maxQueuedEvents: number;
}

/**
 * One Server-Sent Events client. Its events go out in id order, each once: an event with an id at
 * or below the last one sent is skipped (the replay and the live feed overlap by design). Live
 * events that arrive while the replay is being read wait in a bounded queue. Nothing is buffered
 * without bound: a client that does not read is dropped once `maxBufferedBytes` are waiting.
 */
export function openSseConnection(res: Response, limits: SseLimits, onDropped: (reason: DropReason) => void) {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  // nginx must pass each event on at once (nginx.conf turns buffering off for this location too).
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);

  let lastSent = 0;
  let queue: EncodedEvent[] | null = [];
  let open = true;

  function drop(reason: DropReason): void {
    if (!open) return;
    open = false;
    queue = null;
    onDropped(reason);
    res.destroy();
  }

  /**
   * Writes one batch in one call, unless the client still has more than the bound unread from
   * before: what this process holds for a client stays below the bound plus one batch.
   */
  function write(text: string): boolean {
    if (!open) return false;
    if (res.writableLength > limits.maxBufferedBytes) {
      drop('slow');
      return false;
    }
    res.write(text);
    return true;
  }

  function send(events: readonly EncodedEvent[]): void {
    let last = lastSent;
    const fresh = events.filter((event) => event.id > last && (last = event.id) > 0);
    if (fresh.length > 0 && write(fresh.map((event) => event.frame).join(''))) lastSent = last;
  }

  return {
    get open(): boolean {
      return open && !res.destroyed;
    },
    /** Live events: sent now, or queued while the replay is read. */
    offer(events: readonly EncodedEvent[]): void {
      if (!open) return;
      if (queue === null) return send(events);
      queue.push(...events);
      if (queue.length > limits.maxQueuedEvents) drop('queue');
    },
    /** The replay (events after the client's Last-Event-ID), then what waited meanwhile; live from here on. */
    finishReplay(replay: readonly EncodedEvent[], startAfterId: number): void {
      if (!open) return;
      lastSent = Math.max(lastSent, startAfterId);
      send(replay);
      const waited = queue ?? [];
      queue = null;
      send([...waited].sort((a, b) => a.id - b.id));
    },
    comment(text: string): void {
      write(`: ${text}\n\n`);
    },
    /** Ends the stream cleanly (shutdown): the client reconnects elsewhere with its Last-Event-ID. */
    end(): void {
      if (!open) return;
      open = false;
      res.end();
    },
  };
}

export type SseConnection = ReturnType<typeof openSseConnection>;
