import { z } from 'zod';
import { assertMayActFor } from '../../../shared/http/auth';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { idParam, pageOf, pagingQuery } from '../../../shared/http/schemas';
import { createRateBody, effectiveRateOut, effectiveRateSchema, rateOut, rateSchema } from './commission.schemas';
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
    route({
      method: 'get',
      path: '/commission-rates',
      summary: 'The rates in force now, one per anchor that has its own (admin)',
      description:
        'Anchors without a rate of their own are split with `DEFAULT_COMMISSION_RATE` and are not listed. Newest `effectiveFrom` first.',
      access: ['admin'],
      query: z.strictObject({ ...pagingQuery }),
      responses: { 200: { description: 'One page', schema: pageOf(rateSchema) } },
      handle: async ({ query }) => ({ status: 200, body: await commission.ratesInForce(query) }),
    }),
    route({
      method: 'get',
      path: '/commission-rates/{anchorId}',
      summary: "The rate an anchor's rewards are split with now (the anchor itself or admin)",
      description:
        '`source` is `anchor` for its own rate in force, `default` for `DEFAULT_COMMISSION_RATE` (then `effectiveFrom` is null).',
      access: ['admin', 'anchor'],
      params: z.object({ anchorId: idParam }),
      responses: { 200: { description: 'The rate in force', schema: effectiveRateSchema } },
      handle: async ({ params, principal }) => {
        assertMayActFor(principal, { anchorId: params.anchorId });
        await commission.assertAnchor(params.anchorId);
        return { status: 200, body: effectiveRateOut(await commission.effectiveRate(params.anchorId)) };
      },
    }),
    route({
      method: 'get',
      path: '/commission-rates/{anchorId}/history',
      summary: "An anchor's rates, newest effectiveFrom first (the anchor itself or admin)",
      description: 'Rates not yet in force are listed too; rates are never edited, so this is every split the anchor has had or will have.',
      access: ['admin', 'anchor'],
      params: z.object({ anchorId: idParam }),
      query: z.strictObject({ ...pagingQuery }),
      responses: { 200: { description: 'One page', schema: pageOf(rateSchema) } },
      handle: async ({ params, query, principal }) => {
        assertMayActFor(principal, { anchorId: params.anchorId });
        await commission.assertAnchor(params.anchorId);
        const page = await commission.history(params.anchorId, query);
        return { status: 200, body: { ...page, items: page.items.map(rateOut) } };
      },
    }),
    route({
      method: 'delete',
      path: '/commission-rates/{anchorId}/{rateId}',
      summary: 'Withdraw a rate that is not in force yet (admin)',
      description:
        'A rate already in force (or once in force) is history that rewards were split with: 409 RATE_ALREADY_EFFECTIVE. 404 RATE_NOT_FOUND when the anchor has no such rate.',
      access: ['admin'],
      params: z.object({ anchorId: idParam, rateId: idParam }),
      responses: { 204: { description: 'Deleted' } },
      handle: async ({ params }) => {
        await commission.deleteRate(params.anchorId, params.rateId);
        return { status: 204 };
      },
    }),
  ];
}
