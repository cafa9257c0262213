import { z } from 'zod';
import { assertMayActFor, requireAuthenticated } from '../../../shared/http/auth';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { idParam, pageOf, pagingQuery, text } from '../../../shared/http/schemas';
import {
  APPLY_DESCRIPTION,
  appliedOut,
  appliedSchema,
  applyBody,
  statusFilter,
  withdrawalOut,
  withdrawalSchema,
} from './withdrawal.schemas';
import { withdrawalNotFound, type WithdrawalsService } from './withdrawals.service';

const idParams = z.object({ withdrawalId: idParam });

export function withdrawalRoutes(withdrawals: WithdrawalsService): AnyRoute[] {
  const review = (action: 'approve' | 'pay', summary: string, description: string): AnyRoute =>
    route({
      method: 'post',
      path: `/withdrawals/{withdrawalId}/${action}`,
      summary,
      description,
      access: ['admin'],
      params: idParams,
      responses: { 200: { description: 'The withdrawal after the change', schema: withdrawalSchema } },
      handle: async ({ params, principal }) => {
        const reviewer = requireAuthenticated(principal).id;
        return { status: 200, body: withdrawalOut(await withdrawals[action](params.withdrawalId, reviewer)) };
      },
    });
  return [
    route({
      method: 'post',
      path: '/withdrawals',
      summary: 'Ask to withdraw part of the available balance (the anchor itself)',
      description: APPLY_DESCRIPTION,
      access: ['anchor'],
      body: applyBody,
      responses: {
        201: { description: 'PENDING, the amount frozen', schema: appliedSchema },
        200: { description: 'A repeat of the same request', schema: appliedSchema },
      },
      handle: async ({ body, principal }) => {
        assertMayActFor(principal, { anchorId: body.anchorId });
        const { withdrawal, replayed } = await withdrawals.apply({
          anchorId: body.anchorId,
          amountFen: body.amount,
          requestId: body.requestId,
        });
        return replayed
          ? { status: 200, body: appliedOut(withdrawal), headers: { 'Idempotent-Replayed': 'true' } }
          : { status: 201, body: appliedOut(withdrawal) };
      },
    }),
    route({
      method: 'get',
      path: '/withdrawals',
      summary: 'Withdrawals, newest first, by status and anchor (admin)',
      access: ['admin'],
      query: z.strictObject({ status: statusFilter, anchorId: idParam.optional(), ...pagingQuery }),
      responses: { 200: { description: 'One page', schema: pageOf(withdrawalSchema) } },
      handle: async ({ query }) => {
        const page = await withdrawals.list(query);
        return { status: 200, body: { ...page, items: page.items.map(withdrawalOut) } };
      },
    }),
    route({
      method: 'get',
      path: '/withdrawals/{withdrawalId}',
      summary: 'One withdrawal (admin or the anchor it belongs to)',
      description: "Another anchor's withdrawal is 404 WITHDRAWAL_NOT_FOUND, as if there were none.",
      access: ['admin', 'anchor'],
      params: idParams,
      responses: { 200: { description: 'The withdrawal', schema: withdrawalSchema } },
      handle: async ({ params, principal }) => {
        const caller = requireAuthenticated(principal);
        const withdrawal = await withdrawals.get(params.withdrawalId);
        if (caller.role === 'anchor' && caller.id !== withdrawal.anchorId) throw withdrawalNotFound(params.withdrawalId);
        return { status: 200, body: withdrawalOut(withdrawal) };
      },
    }),
    review(
      'approve',
      'Approve a PENDING withdrawal (admin)',
      'PENDING → APPROVED; the amount stays frozen. Any other state → 409 INVALID_STATE.',
    ),
    route({
      method: 'post',
      path: '/withdrawals/{withdrawalId}/reject',
      summary: 'Reject a PENDING or APPROVED withdrawal with a reason (admin)',
      description: 'The amount goes back from frozen to available (a ledger line). Any other state → 409 INVALID_STATE.',
      access: ['admin'],
      params: idParams,
      body: z.strictObject({ reason: text(255) }).meta({ id: 'RejectWithdrawalRequest' }),
      responses: { 200: { description: 'The withdrawal, REJECTED', schema: withdrawalSchema } },
      handle: async ({ params, body, principal }) => {
        const reviewer = requireAuthenticated(principal).id;
        return { status: 200, body: withdrawalOut(await withdrawals.reject(params.withdrawalId, body.reason, reviewer)) };
      },
    }),
    review(
      'pay',
      'Mark an APPROVED withdrawal paid (admin)',
      'APPROVED → PAID: the amount moves from frozen to withdrawn (a ledger line), once however often this is called. Any other state → 409 INVALID_STATE.',
    ),
  ];
}
