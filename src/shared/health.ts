import type { Db } from './db/knex';
import type { RedisHandle } from './redis';

export type Store = 'db1' | 'db2' | 'redis';

export interface ComponentHealth {
  status: 'UP' | 'DOWN' | 'DISABLED';
  latencyMs?: number;
  error?: string;
}

export interface HealthReport {
  status: 'UP' | 'DOWN';
  components: Record<Store, ComponentHealth>;
}

export interface HealthProbe {
  /** `required` stores decide UP/DOWN; the others are reported only (Redis is required by the cache module alone; when it is not configured it is DISABLED, never DOWN). */
  check(required: readonly Store[]): Promise<HealthReport>;
  markShuttingDown(): void;
}

const PROBE_TIMEOUT_MS = 1000;

async function timed(probe: () => Promise<unknown>): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      }),
    ]);
    return { status: 'UP', latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { status: 'DOWN', error: (error as Error).message.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}

export function createHealthProbe(stores: { db1: Db; db2: Db; redis: RedisHandle }): HealthProbe {
  let shuttingDown = false;
  return {
    markShuttingDown() {
      shuttingDown = true;
    },
    async check(required) {
      const [db1, db2, redis] = await Promise.all([
        timed(() => stores.db1.raw('select 1')),
        timed(() => stores.db2.raw('select 1')),
        stores.redis.client
          ? timed(async () => {
              if (!(await stores.redis.ping(PROBE_TIMEOUT_MS))) throw new Error('not connected');
            })
          : Promise.resolve<ComponentHealth>({ status: 'DISABLED' }),
      ]);
      const components = { db1, db2, redis };
      const down = shuttingDown || required.some((store) => components[store].status === 'DOWN');
      return { status: down ? 'DOWN' : 'UP', components };
    },
  };
}
