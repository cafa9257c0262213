import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { idParam } from '../../../shared/http/schemas';
import { balanceOut, balanceSchema } from './balance.schemas';
import type { BalancesService } from './balances.service';

export function balanceRoutes(balances: BalancesService): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/balances/{anchorId}',
      summary: "An anchor's balance (the anchor itself or admin)",
      access: ['admin', 'anchor'],
      params: z.object({ anchorId: idParam }),
      responses: { 200: { description: 'The balance', schema: balanceSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: balanceOut(await balances.getBalance(principal, params.anchorId)) }),
    }),
  ];
}
