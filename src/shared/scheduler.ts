import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from './logger';
import type { ScheduledJob } from './module';
import type { RedisHandle } from './redis';
import { generateTraceId, runWithTrace } from './trace';

/**
 * Runs the modules' jobs on their cron expressions. Every instance schedules every job; a Redis
 * lease per fire (`SET NX PX`, kept until it expires) elects one instance to run it. Without Redis
 * each instance runs its jobs itself — every job is written to be safe when run concurrently anyway.
 */
export interface Scheduler {
  start(): void;
  stop(): Promise<void>;
  /** Runs a job now, under its own trace id, skipping if this process is already running it. */
  runNow(name: string): Promise<void>;
}

const LEASE_MS = 60_000;

export function createScheduler(deps: { jobs: readonly ScheduledJob[]; redis: RedisHandle; logger: Logger }): Scheduler {
  const log = deps.logger.child({ component: 'scheduler' });
  const running = new Set<string>();
  const tasks: ScheduledTask[] = [];

  async function execute(job: ScheduledJob): Promise<void> {
    if (running.has(job.name)) {
      log.info({ job: job.name }, 'job still running here; this fire is skipped');
      return;
    }
    running.add(job.name);
    const started = performance.now();
    try {
      await runWithTrace({ traceId: generateTraceId('CRON') }, async () => {
        try {
          await job.run();
          log.info({ job: job.name, ms: Math.round(performance.now() - started) }, 'job finished');
        } catch (error) {
          log.error({ job: job.name, err: error }, 'job failed');
        }
      });
    } finally {
      running.delete(job.name);
    }
  }

  const coordinator = {
    async shouldRun(key: string, ttlMs: number): Promise<boolean> {
      const client = deps.redis.client;
      if (!client || !deps.redis.isUsable()) return true;
      try {
        return (await client.set(`cron:lease:${key}`, String(process.pid), 'PX', ttlMs, 'NX')) === 'OK';
      } catch {
        return true;
      }
    },
  };

  return {
    start() {
      for (const job of deps.jobs) {
        tasks.push(
          cron.schedule(job.schedule, () => execute(job), {
            name: job.name,
            noOverlap: true,
            distributed: true,
            runCoordinator: coordinator,
            distributedLease: LEASE_MS,
          }),
        );
      }
      if (deps.jobs.length > 0) log.info({ jobs: deps.jobs.map((j) => `${j.name} (${j.schedule})`) }, 'scheduler started');
    },
    async stop() {
      await Promise.all(tasks.map(async (task) => task.stop()));
      tasks.length = 0;
    },
    runNow(name) {
      const job = deps.jobs.find((j) => j.name === name);
      if (!job) return Promise.reject(new Error(`no job named ${name}`));
      return execute(job);
    },
  };
}
