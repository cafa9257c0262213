import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CallOutcome } from '../../shared/resilience';
import type { RoomCheckSource } from './rewards/reward-targets';
import type { RewardQueueObserver } from './rewards/reward-writer';
import type { SyncObserver } from './sync/sync.service';

/** The audience side of the seed's indicators: reward outcomes and latency, anchor calls, sync backlog; and the reward queue. */
export interface AudienceMetrics {
  rewards: Counter<'outcome'>;
  rewardDuration: Histogram<'endpoint'>;
  anchorCalls: Counter<'method' | 'outcome'>;
  countAnchorCall(method: string, outcome: CallOutcome): void;
  countRoomChecks(source: RoomCheckSource, rooms: number): void;
  rewardQueue: RewardQueueObserver;
  /** Rewards the sweep applied because their own notification never counted them. */
  swept: Counter;
  /** Runs of the refund-effects job per refund: confirmed done, or an effect failed (retried). */
  refundEffects: Counter<'outcome'>;
  /** Rows the CSV exports have taken from their statements (pulled only as the downloads are read). */
  exportedRows: Counter;
  sync: SyncObserver;
}

/** The sync queue as the gauges show it: what waits for finance, and what waits for an operator. */
export interface SyncBacklog {
  /** PENDING or CLAIMED. */
  unsynced: number;
  quarantined: number;
}

/** Rewards waiting for a DB1 transaction, and those answered 503 without one (also counted as `error` in recharge_requests_total). */
function rewardQueueMetrics(registry: Registry): RewardQueueObserver {
  const depth = new Gauge({
    name: 'reward_queue_depth',
    help: 'Rewards waiting for a DB1 transaction (at most REWARD_QUEUE_MAX).',
    registers: [registry],
  });
  const shed = new Counter({
    name: 'reward_queue_shed_total',
    help: 'Rewards answered 503 without a transaction: queue_full, queue_wait (waited too long), db_unavailable (DB1 failed the batch ahead).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const insertRaces = new Counter({
    name: 'reward_insert_races_total',
    help: 'Rewards whose INSERT met the UNIQUE traceId index because another transaction (of this instance or another) stored that traceId first; answered from the stored row.',
    registers: [registry],
  });
  return {
    queueDepth: (waiting) => depth.set(waiting),
    shed: (reason, count) => shed.inc({ reason }, count),
    insertRaceLost: () => insertRaces.inc(),
  };
}

/** Both sync gauges from one query, refreshed on scrape at most every 5 s (a COUNT on the (sync_status, id) index). */
function syncBacklogGauges(registry: Registry, backlog: () => Promise<SyncBacklog>): void {
  let cached: { value: SyncBacklog; at: number } = { value: { unsynced: 0, quarantined: 0 }, at: 0 };
  let refreshing: Promise<void> | null = null;
  const refresh = async () => {
    if (Date.now() - cached.at <= 5000) return;
    refreshing ??= backlog()
      .then((value) => void (cached = { value, at: Date.now() }))
      // DB1 unreachable: keep the last value; health reports the outage.
      .catch(() => undefined)
      .finally(() => void (refreshing = null));
    await refreshing;
  };
  new Gauge({
    name: 'recharge_sync_pending',
    help: 'Rewards stored but not yet settled by finance (PENDING or CLAIMED); quarantined ones are counted apart.',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(cached.value.unsynced);
    },
  });
  new Gauge({
    name: 'recharge_sync_quarantined',
    help: 'Rewards the finance sync quarantined because finance refused them SYNC_QUARANTINE_AFTER times: not settled, waiting for an operator (sync quarantine list / retry).',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(cached.value.quarantined);
    },
  });
}

export function createAudienceMetrics(registry: Registry, syncBacklog: () => Promise<SyncBacklog>): AudienceMetrics {
  const rewards = new Counter({
    name: 'recharge_requests_total',
    help: 'Rewards by outcome: created, replayed, rejected (4xx), error (5xx).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const rewardDuration = new Histogram({
    name: 'recharge_duration_seconds',
    help: 'Time to answer a reward request (single or batch).',
    labelNames: ['endpoint'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2],
    registers: [registry],
  });
  const anchorCalls = new Counter({
    name: 'anchor_service_calls_total',
    help: 'Calls to the anchor module on the reward path (getRewardTargets, applyReward): success, failure, timeout, short_circuit.',
    labelNames: ['method', 'outcome'],
    registers: [registry],
  });
  const roomChecks = new Counter({
    name: 'reward_room_checks_total',
    help: 'Rooms judged for rewards, by source: anchor (asked), remembered (the anchor module did not answer; its last answer was used), unchecked (nothing to go by: 503).',
    labelNames: ['source'],
    registers: [registry],
  });
  syncBacklogGauges(registry, syncBacklog);
  const refusals = new Counter({
    name: 'recharge_sync_refusals_total',
    help: 'Rewards finance refused when the sync sent them alone, by what became of them: retried (back to PENDING for the next run) or quarantined.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  return {
    rewards,
    rewardDuration,
    anchorCalls,
    countAnchorCall: (method, outcome) => anchorCalls.inc({ method, outcome }),
    countRoomChecks: (source, rooms) => {
      if (rooms > 0) roomChecks.inc({ source }, rooms);
    },
    rewardQueue: rewardQueueMetrics(registry),
    swept: new Counter({
      name: 'reward_sweep_applied_total',
      help: 'Rewards the sweep applied to their room because their own notification never counted them (an instance died, a timeout, Redis lost its memory).',
      registers: [registry],
    }),
    refundEffects: new Counter({
      name: 'refund_effects_total',
      help: 'Refunds the refund-effects job handled: done (room figures, TOP10 boards and finance all confirmed) or failed (one of them did not answer; retried every run).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    sync: { refused: (outcome) => refusals.inc({ outcome }) },
    exportedRows: new Counter({
      name: 'reward_export_rows_total',
      help: 'Rewards the CSV exports have read from the database. Rows are taken only as the downloads are read, so a stalled client stops it.',
      registers: [registry],
    }),
  };
}
