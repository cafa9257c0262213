import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import type { SyncService } from './sync.service';

const syncReportSchema = z
  .object({ synced: z.number().int(), batches: z.number().int(), pending: z.number().int() })
  .meta({ id: 'SyncReport' });

const syncStatusSchema = z
  .object({
    queueSize: z
      .number()
      .int()
      .meta({ description: 'pending + claimed: rewards stored and not yet settled by finance (the seed’s sync_queue_size).' }),
    pending: z.number().int(),
    claimed: z.number().int().meta({ description: 'Claimed by a sync run that has not confirmed them yet.' }),
    quarantined: z
      .number()
      .int()
      .meta({ description: 'Refused by finance SYNC_QUARANTINE_AFTER times; not sent until an operator puts them back.' }),
  })
  .meta({ id: 'SyncStatus' });

export type SyncBacklogCounts = Record<'PENDING' | 'CLAIMED' | 'QUARANTINED', number>;

export function syncRoutes(sync: SyncService, backlog: () => Promise<SyncBacklogCounts>): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/sync/status',
      summary: 'The queue of rewards waiting for finance (admin)',
      description:
        'Counted in DB1 at the call (one COUNT over the sync-status index); the metrics `recharge_sync_pending` and `recharge_sync_quarantined` report the same, refreshed at most every 5 s.',
      access: ['admin'],
      responses: { 200: { description: 'The queue', schema: syncStatusSchema } },
      handle: async () => {
        const counts = await backlog();
        return {
          status: 200,
          body: {
            queueSize: counts.PENDING + counts.CLAIMED,
            pending: counts.PENDING,
            claimed: counts.CLAIMED,
            quarantined: counts.QUARANTINED,
          },
          headers: { 'Cache-Control': 'no-store' },
        };
      },
    }),
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
