import { z } from 'zod';
import type { Db } from '../../../shared/db/knex';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { idParam, pageOf, pagingQuery } from '../../../shared/http/schemas';
import { financeShapes as shapes } from '../../finance';
import type { FinanceServiceClient } from '../../finance/contract';
import { visibleAnchor } from './anchors.service';

export type AnchorFinance = Pick<
  FinanceServiceClient,
  'effectiveRate' | 'rateHistory' | 'applyWithdrawal' | 'listWithdrawals' | 'cancelWithdrawal'
>;

const anchorIdParams = z.object({ anchorId: idParam });
const FINANCE_DOWN = ' 503 DEPENDENCY_UNAVAILABLE while finance does not answer.';

/**
 * The anchor's commission rate and withdrawals through the anchor module: thin routes over the
 * finance contract, answering exactly as finance's own routes do, after the anchor module's own
 * checks (the caller may act for the anchor, which exists and is visible to it).
 */
export function anchorFinanceRoutes(db: Db, finance: AnchorFinance): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/anchors/{anchorId}/commission-rate',
      summary: "The anchor's commission rate in force, from finance (the anchor itself or admin)",
      description: 'As `GET /finance/api/v1/commission-rates/{anchorId}`.' + FINANCE_DOWN,
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      responses: { 200: { description: 'The rate in force', schema: shapes.effectiveRateSchema } },
      handle: async ({ params, principal }) => {
        await visibleAnchor(db, principal, params.anchorId);
        return { status: 200, body: shapes.effectiveRateOut(await finance.effectiveRate(params.anchorId)) };
      },
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/commission-rate/history',
      summary: "The anchor's commission rates, newest effectiveFrom first, from finance (the anchor itself or admin)",
      description: 'As `GET /finance/api/v1/commission-rates/{anchorId}/history`.' + FINANCE_DOWN,
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      query: z.strictObject({ ...pagingQuery }),
      responses: { 200: { description: 'One page', schema: pageOf(shapes.rateSchema) } },
      handle: async ({ params, query, principal }) => {
        await visibleAnchor(db, principal, params.anchorId);
        const page = await finance.rateHistory(params.anchorId, query);
        return { status: 200, body: { ...page, items: page.items.map(shapes.rateOut) } };
      },
    }),
    route({
      method: 'post',
      path: '/anchors/{anchorId}/withdrawals',
      summary: 'Ask to withdraw part of the available balance, through finance (the anchor itself)',
      description: `As \`POST /finance/api/v1/withdrawals\`. ${shapes.APPLY_DESCRIPTION}${FINANCE_DOWN}`,
      access: ['anchor'],
      params: anchorIdParams,
      body: z.strictObject({ amount: shapes.withdrawalAmount, requestId: shapes.requestIdField }).meta({ id: 'AnchorWithdrawalRequest' }),
      responses: {
        201: { description: 'PENDING, the amount frozen', schema: shapes.appliedSchema },
        200: { description: 'A repeat of the same request', schema: shapes.appliedSchema },
      },
      handle: async ({ params, body, principal }) => {
        await visibleAnchor(db, principal, params.anchorId);
        const { withdrawal, replayed } = await finance.applyWithdrawal({
          anchorId: params.anchorId,
          amountFen: body.amount,
          requestId: body.requestId,
        });
        return replayed
          ? { status: 200, body: shapes.appliedOut(withdrawal), headers: { 'Idempotent-Replayed': 'true' } }
          : { status: 201, body: shapes.appliedOut(withdrawal) };
      },
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/withdrawals',
      summary: "The anchor's withdrawals, newest first, from finance (the anchor itself or admin)",
      description: 'Filter by `status`.' + FINANCE_DOWN,
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      query: z.strictObject({ status: shapes.statusFilter, ...pagingQuery }),
      responses: { 200: { description: 'One page', schema: pageOf(shapes.withdrawalSchema) } },
      handle: async ({ params, query, principal }) => {
        await visibleAnchor(db, principal, params.anchorId);
        const page = await finance.listWithdrawals({ anchorId: params.anchorId, ...query });
        return { status: 200, body: { ...page, items: page.items.map(shapes.withdrawalOut) } };
      },
    }),
    route({
      method: 'post',
      path: '/anchors/{anchorId}/withdrawals/{withdrawalId}/cancel',
      summary: 'Cancel a PENDING withdrawal, through finance (the anchor itself)',
      description:
        'PENDING → CANCELLED: the amount goes back from frozen to available (a ledger line). Any other state → 409 INVALID_STATE; another anchor’s withdrawal → 404 WITHDRAWAL_NOT_FOUND.' +
        FINANCE_DOWN,
      access: ['anchor'],
      params: z.object({ anchorId: idParam, withdrawalId: idParam }),
      responses: { 200: { description: 'The withdrawal, CANCELLED', schema: shapes.withdrawalSchema } },
      handle: async ({ params, principal }) => {
        await visibleAnchor(db, principal, params.anchorId);
        return { status: 200, body: shapes.withdrawalOut(await finance.cancelWithdrawal(params.anchorId, params.withdrawalId)) };
      },
    }),
  ];
}
