import { Counter, Gauge, type Registry } from 'prom-client';

/** The live-room event streams of this instance. */
export interface LiveEventsMetrics {
  subscribers: Gauge;
  /** Events written to clients (one per event and client). */
  sent: Counter;
  /** Clients dropped: slow (too many bytes unread) or queue (too many live events during their replay). */
  dropped: Counter<'reason'>;
  /** Streams refused with 503: the instance's maximum of clients, or shutting down. */
  refused: Counter;
}

export function createLiveEventsMetrics(registry: Registry): LiveEventsMetrics {
  return {
    subscribers: new Gauge({
      name: 'live_events_subscribers',
      help: 'Open live-room event streams on this instance.',
      registers: [registry],
    }),
    sent: new Counter({ name: 'live_events_sent_total', help: 'Live-room events written to stream clients.', registers: [registry] }),
    dropped: new Counter({
      name: 'live_events_dropped_total',
      help: 'Stream clients dropped, by reason: slow (unread bytes past the bound), queue (live events past the bound during replay).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'live_events_refused_total',
      help: 'Event streams refused with 503 (subscriber cap reached, or shutting down).',
      registers: [registry],
    }),
  };
}
