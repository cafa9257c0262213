import type { ModuleSurface } from '../../shared/module';

/** Read-only reports composed from the other modules' query contracts (served under /analysis). */
export function createAnalyticsModule(): ModuleSurface {
  return {
    name: 'analytics',
    routes: [],
    health: { path: '/analysis/actuator/health', requires: ['db1', 'db2'] },
    jobs: [],
  };
}
