import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { idParam, moneyOut } from '../../../shared/http/schemas';
import type { BalancesService } from './balances.service';

const balanceSchema = z
  .object({ anchorId: z.number().int(), available: moneyOut, frozen: moneyOut, totalIncome: moneyOut, totalWithdrawn: moneyOut })
  .meta({ id: 'AnchorBalance' });

export function balanceRoutes(balances: BalancesService): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/balances/{anchorId}',
      summary: "An anchor's balance (the anchor itself or admin)",
      access: ['admin', 'anchor'],
      params: z.object({ anchorId: idParam }),
      responses: { 200: { description: 'The balance', schema: balanceSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await balances.getBalance(principal, params.anchorId) }),
    }),
  ];
}
