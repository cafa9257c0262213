import type { ModuleName } from './config';
import type { Store } from './health';
import type { RouteGroup } from './http/routes';

/** A job the scheduler runs on a cron expression (inside a lease, so one instance runs it at a time). */
export interface ScheduledJob {
  name: string;
  schedule: string;
  run(): Promise<void>;
}

/** What a module hands the composition root: its HTTP surface, its health endpoint and its jobs. */
export interface ModuleSurface {
  name: ModuleName;
  routes: RouteGroup[];
  /** `/anchor/actuator/health` and the stores whose loss makes this module DOWN. */
  health?: { path: string; requires: readonly Store[] };
  jobs: ScheduledJob[];
}

/** Injected time source: tests and reports never depend on the wall clock directly. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
