import { Counter, type Registry } from 'prom-client';
import type { RecordOutcome } from './board-recorder';
import type { LoadSource } from './leaderboards.service';

/** Where board loads were answered from, and rewards the reward path could not send to the boards in Redis (caught up by the loads). */
export function createBoardMetrics(registry: Registry) {
  const loads = new Counter({
    name: 'top10_loads_total',
    help: 'TOP10 board loads (cache misses) by source: redis (the boards) or db (a GROUP BY over DB1: no Redis, or Redis failed).',
    labelNames: ['source'],
    registers: [registry],
  });
  const recorded = new Counter({
    name: 'top10_board_rewards_total',
    help: 'Rewards the reward path sent to the TOP10 boards in Redis (sent) or could not (missed; the next loads catch them up from DB1).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  return {
    load: (source: LoadSource) => loads.inc({ source }),
    record: (outcome: RecordOutcome, rewards: number) => recorded.inc({ outcome }, rewards),
  };
}
