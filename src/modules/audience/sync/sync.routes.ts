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
      description: '`pending` is what is still unsynced after the run. 503 when finance is unreachable; nothing is lost.',
      access: ['admin'],
      responses: { 200: { description: 'What this run settled', schema: syncReportSchema } },
      handle: async () => ({ status: 200, body: await sync.runSync() }),
    }),
  ];
}
