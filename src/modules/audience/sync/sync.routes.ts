import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import type { SyncService } from './sync.service';

const syncReportSchema = z
  .object({ synced: z.number().int(), batches: z.number().int(), pending: z.number().int() })
  .meta({ id: 'SyncReport' });

export function syncRoutes(sync: SyncService): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/sync/trigger',
      summary: 'Run the finance sync now',
      description:
        '`synced`: rewards this run settled (finance holds them, confirmed SYNCED); `batches`: batches it claimed; `pending`: rewards still waiting for finance after the run (PENDING or CLAIMED), not counting quarantined ones. A reward finance refuses (a 4xx) never holds up the rest: its batch is split until it is found, the others are settled in the same run, and it is tried again in the next run — after SYNC_QUARANTINE_AFTER refusals it is QUARANTINED, no longer sent and not counted in `pending`, until an operator puts it back (`sync quarantine list`, `sync quarantine retry`; metric `recharge_sync_quarantined`). 503 when finance is unreachable or times out: the claim is given back, nothing is lost and no refusal is counted.',
      access: ['admin'],
      responses: { 200: { description: 'What this run settled', schema: syncReportSchema } },
      handle: async () => ({ status: 200, body: await sync.runSync() }),
    }),
  ];
}
