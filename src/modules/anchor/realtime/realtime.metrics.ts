import { Counter, type Registry } from 'prom-client';
import { redisCacheRequests } from '../../../shared/metrics';

/** The anchor side of the seed's indicators: Redis cache hits for realtime figures, and how rewards were applied. */
export interface RealtimeMetrics {
  /** A realtime read or write that found the room's cached figures in Redis (hit) or had to read DB1 (miss). */
  cache: { inc(labels: { result: 'hit' | 'miss' }, count?: number): void };
  applied: Counter<'path' | 'outcome'>;
  flushes: Counter;
  /** Rewards the internal endpoint refused: no such reward, or not as stored. */
  refused: Counter<'reason'>;
}

export function createRealtimeMetrics(registry: Registry): RealtimeMetrics {
  const cacheRequests = redisCacheRequests(registry);
  return {
    cache: { inc: (labels, count = 1) => cacheRequests.inc({ cache: 'realtime', result: labels.result }, count) },
    applied: new Counter({
      name: 'realtime_rewards_total',
      help: 'Reward notifications applied to realtime figures, by path (redis, db) and outcome (applied, duplicate).',
      labelNames: ['path', 'outcome'],
      registers: [registry],
    }),
    flushes: new Counter({
      name: 'realtime_flushes_total',
      help: 'Pending Redis deltas folded into live_room_realtime.',
      registers: [registry],
    }),
    refused: new Counter({
      name: 'realtime_rewards_refused_total',
      help: 'Rewards the internal realtime endpoint refused because they name no stored reward (unknown_reward) or differ from it (mismatch). Any is a bug or a forgery.',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
