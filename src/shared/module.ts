import type { ModuleName } from './config';
import type { Store } from './health';
import type { RouteGroup } from './http/routes';

/** A job the scheduler runs on a cron expression: each tick on one instance, one run of it at a time. */
export interface ScheduledJob {
  name: string;
  schedule: string;
  /**
   * A tick when Redis is configured but does not answer, so no instance can take the lease: `run`
   * on every instance (a job that needs no Redis, is safe to run on several instances at once and
   * must not stop for a Redis outage), or `skip` the tick (a job that works on Redis anyway, or
   * should not run on every instance at once).
   */
  withoutLease: 'run' | 'skip';
  run(): Promise<void>;
}

/** What a module hands the composition root: its HTTP surface, its health endpoint and its jobs. */
export interface ModuleSurface {
  name: ModuleName;
  routes: RouteGroup[];
  /** `/anchor/actuator/health` and the stores whose loss makes this module DOWN. */
  health?: { path: string; requires: readonly Store[] };
  jobs: ScheduledJob[];
  /** Ends what the module keeps open towards clients (event streams) before the HTTP server stops. */
  beforeShutdown?(): Promise<void>;
}

/** Injected time source: tests and reports never depend on the wall clock directly. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
