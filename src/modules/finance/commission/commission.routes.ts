import { route, type AnyRoute } from '../../../shared/http/routes';
import { createRateBody, rateSchema } from './commission.schemas';
import type { CommissionService } from './commission.service';

export function commissionRoutes(commission: CommissionService): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/commission-rates',
      summary: "Set an anchor's commission rate from a time on (admin)",
      description:
        '`rate` is the anchor’s share ("0.7000" = 70 %). `effectiveFrom` defaults to now and may not be in the past (a few seconds of skew are moved up to now). Rewards are split with the rate in force at their `createdAt`; without any, `DEFAULT_COMMISSION_RATE`.',
      access: ['admin'],
      body: createRateBody,
      responses: { 201: { description: 'Stored', schema: rateSchema } },
      handle: async ({ body }) => ({ status: 201, body: await commission.setRate(body) }),
    }),
  ];
}
