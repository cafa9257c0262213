import type { Registry } from 'prom-client';
import type { Logger } from '../../shared/logger';
import type { RedisHandle } from '../../shared/redis';
import type { Clock, ModuleSurface } from '../../shared/module';
import { guardClient } from '../../shared/resilience';
import type { AnchorServiceClient } from '../anchor/contract';
import type { AudienceServiceClient } from '../audience/contract';
import type { FinanceServiceClient } from '../finance/contract';
import { createReconciliation, type ReconciliationReport } from './reconciliation/reconciliation.service';
import { createSyncDayComparison, type SyncDayComparison } from './reconciliation/sync-day-comparison';
import { createOverviewReports } from './reports/overview.service';
import { createRankingReports } from './reports/rankings.service';
import { createReportCache } from './reports/report-cache';
import { reportRoutes } from './reports/reports.routes';

export type { ReconciliationReport } from './reconciliation/reconciliation.service';
export type { SyncDayComparison } from './reconciliation/sync-day-comparison';

export interface AnalyticsModuleDeps {
  audience: AudienceServiceClient;
  anchor: AnchorServiceClient;
  finance: FinanceServiceClient;
  clock: Clock;
  logger: Logger;
  /** Where report answers are cached (a short TTL), and their hit/miss counter's registry. */
  redis: RedisHandle;
  registry: Registry;
  /** reportTimeoutMs: reconciliation and the reports read whole ranges through the other modules; their calls may take that long. */
  settings: { reconcileCron: string; reportTimeoutMs: number; timeZone: string; cacheTtlMs: number };
}

export interface AnalyticsModule extends ModuleSurface {
  reconcile(options: { repair: boolean }): Promise<ReconciliationReport>;
  /** One calendar day (YYYY-MM-DD in TIME_ZONE): what DB1 handed to finance next to what DB2 settled, per anchor. */
  compareSyncDay(date: string): Promise<SyncDayComparison>;
}

/**
 * Read-only reports composed from the other modules' query contracts (served under /analysis), and
 * reconciliation of the realtime figures and finance against the reward table.
 */
export function createAnalyticsModule(deps: AnalyticsModuleDeps): AnalyticsModule {
  const logger = deps.logger.child({ module: 'analytics' });
  const timeoutMs = { default: deps.settings.reportTimeoutMs };
  const audience = guardClient(deps.audience, { name: 'audience', logger, timeoutMs });
  const finance = guardClient(deps.finance, { name: 'finance', logger, timeoutMs });
  const anchor = guardClient(deps.anchor, { name: 'anchor', logger, timeoutMs });
  const reconciliation = createReconciliation({
    audience,
    anchor,
    finance,
    clock: deps.clock,
    logger,
  });
  const cache = createReportCache({ redis: deps.redis, registry: deps.registry, logger, ttlMs: deps.settings.cacheTtlMs });
  const reports = createOverviewReports({ audience, finance, cache, clock: deps.clock, timeZone: deps.settings.timeZone });
  const rankings = createRankingReports({ audience, anchor, cache, clock: deps.clock, timeZone: deps.settings.timeZone });
  return {
    name: 'analytics',
    routes: [{ prefix: '/analysis/api/v1', tag: 'analysis', routes: reportRoutes(reports, rankings) }],
    health: { path: '/analysis/actuator/health', requires: ['db1', 'db2'] },
    // Realtime drift is repaired on schedule (e.g. rewards made while the anchor module was down). While
    // Redis does not answer its pending deltas cannot be read, and would look missing: the tick is skipped.
    jobs: [
      {
        name: 'reconcile',
        schedule: deps.settings.reconcileCron,
        withoutLease: 'skip',
        run: async () => void (await reconciliation.reconcile({ repair: true })),
      },
    ],
    reconcile: (options) => reconciliation.reconcile(options),
    compareSyncDay: createSyncDayComparison({ audience, finance, timeZone: deps.settings.timeZone }),
  };
}
