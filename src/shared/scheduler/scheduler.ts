import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../logger';
import type { ScheduledJob } from '../module';
import type { RedisHandle } from '../redis';
import { generateTraceId, runWithTrace } from '../trace';
import { createRunLeases, type RunLease } from './run-lease';

/**
 * Runs the modules' jobs on their cron expressions. Every instance schedules every job; for each
 * tick (`slot`, the time it was scheduled for) the instances race for it in Redis (run-lease.ts):
 * one runs it, holding the job's run lease while the run lasts, so that a run outliving its tick
 * overlaps no other — here or on another instance. When a configured Redis does not answer, each
 * job does what it declares (`withoutLease`): run on every instance, or skip the tick. Without
 * Redis configured every instance runs every tick. Every run logs `job started` and `job finished`
 * (or `job failed`) with its job and slot, under a `CRON-…` trace id; a tick not run here logs
 * `job skipped` with the reason (at debug level when another instance ran it).
 */
export interface Scheduler {
  start(): void;
  /** Stops scheduling and waits for the runs in progress here to end. */
  stop(): Promise<void>;
}

export function createScheduler(deps: { jobs: readonly ScheduledJob[]; redis: RedisHandle; logger: Logger; leaseMs: number }): Scheduler {
  const log = deps.logger.child({ component: 'scheduler' });
  const leases = createRunLeases({ redis: deps.redis, leaseMs: deps.leaseMs, logger: deps.logger });
  const running = new Map<string, Promise<void>>();
  const tasks: ScheduledTask[] = [];

  async function run(job: ScheduledJob, slot: string, lease: RunLease | null): Promise<void> {
    await runWithTrace({ traceId: generateTraceId('CRON') }, async () => {
      const started = performance.now();
      log.info({ job: job.name, slot, leased: lease !== null }, 'job started');
      try {
        await job.run();
        log.info({ job: job.name, slot, ms: Math.round(performance.now() - started) }, 'job finished');
      } catch (error) {
        log.error({ job: job.name, slot, err: error }, 'job failed');
      } finally {
        await lease?.release();
      }
    });
  }

  /** One tick of one job on this instance: claim it, then run it or say why not. Never throws. */
  async function tick(job: ScheduledJob, slotDate: Date): Promise<void> {
    const slot = slotDate.toISOString();
    const claim = await leases.claim(job.name, slotDate);
    switch (claim.outcome) {
      case 'claimed':
        return run(job, slot, claim.lease);
      case 'no-redis':
        return run(job, slot, null);
      case 'taken':
        log.debug({ job: job.name, slot, reason: 'claimed by another instance' }, 'job skipped');
        return;
      case 'busy':
        log.info({ job: job.name, slot, reason: 'still running on another instance' }, 'job skipped');
        return;
      case 'unavailable':
        if (job.withoutLease === 'run') {
          log.warn({ job: job.name, slot, err: claim.error }, 'redis does not answer: running without the lease, as every instance does');
          return run(job, slot, null);
        }
        log.warn({ job: job.name, slot, reason: 'redis does not answer', err: claim.error }, 'job skipped');
    }
  }

  function fire(job: ScheduledJob, slotDate: Date): Promise<void> {
    if (running.has(job.name)) {
      log.info({ job: job.name, slot: slotDate.toISOString(), reason: 'still running here' }, 'job skipped');
      return Promise.resolve();
    }
    const done = tick(job, slotDate).finally(() => running.delete(job.name));
    running.set(job.name, done);
    return done;
  }

  /** node-cron's own messages as JSON lines like the rest. */
  const cronLog = log.child({ component: 'node-cron' });
  const cronLogger = {
    info: (message: string) => cronLog.info(message),
    warn: (message: string) => cronLog.warn(message),
    error: (message: string | Error, err?: Error) => cronLog.error({ err: err ?? message }, String(message)),
    debug: (message: string | Error) => cronLog.debug(String(message)),
  };

  return {
    start() {
      for (const job of deps.jobs) {
        // Overlap on this instance is refused in fire(), which logs the skipped slot; node-cron's own check would not.
        const task = cron.schedule(job.schedule, (context) => fire(job, context.date), { name: job.name, logger: cronLogger });
        task.on('execution:missed', (context) =>
          log.warn({ job: job.name, slot: context.date.toISOString() }, 'tick missed: this process was busy past it'),
        );
        tasks.push(task);
      }
      if (deps.jobs.length > 0)
        log.info(
          { jobs: deps.jobs.map((j) => `${j.name} (${j.schedule})`), leaseMs: deps.leaseMs, redis: deps.redis.client !== null },
          'scheduler started',
        );
    },
    async stop() {
      await Promise.all(tasks.map(async (task) => task.destroy()));
      tasks.length = 0;
      await Promise.allSettled([...running.values()]);
    },
  };
}
