import { z } from 'zod';
import { INTERNAL_ONLY } from '../../../shared/http/auth';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { idField, isoTimeIn, moneyIn, problemSchema } from '../../../shared/http/schemas';
import { TRACE_ID_PATTERN } from '../../../shared/trace';
import type { SettlementService } from './settlement.service';

const recordSchema = z.strictObject({
  rechargeId: idField,
  traceId: z.string().regex(TRACE_ID_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
  anchorId: idField,
  liveRoomId: idField,
  audienceId: idField,
  amount: moneyIn(),
  createdAt: isoTimeIn(),
});

const batchSyncBody = z
  .strictObject({
    batchId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
    records: z.array(recordSchema).min(1, 'must hold 1 to 1000 records').max(1000, 'must hold 1 to 1000 records'),
  })
  .meta({ id: 'BatchSyncRequest' });

const batchSyncResult = z
  .object({ batchId: z.string(), accepted: z.number().int(), duplicates: z.number().int() })
  .meta({ id: 'BatchSyncResult' });

export function settlementRoutes(settlement: SettlementService): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/recharge/batch-sync',
      summary: 'Settle a batch of rewards (internal; idempotent per rechargeId)',
      description:
        'Every record is first checked against the reward table: a batch naming a reward that is not stored, or not as given, is refused whole with 409 REWARD_MISMATCH. Then one DB2 transaction: each reward not settled before is split with the anchor’s rate in force at its `createdAt`, recorded (settlement per anchor, detail per reward), journalled and credited. Rewards settled before count as `duplicates`. The idempotency key is the reward id, not `batchId`: a `batchId` sent again with other records settles those not settled before under that batch (its settlement row per anchor grows by them and still adds up to its details) and counts the rest as `duplicates`; this is how the sync sends the parts of a batch it splits to find a refused reward.',
      access: INTERNAL_ONLY,
      body: batchSyncBody,
      responses: {
        200: { description: 'What this call settled', schema: batchSyncResult },
        409: {
          description: 'A record names no stored reward or differs from it (REWARD_MISMATCH); nothing was settled',
          schema: problemSchema,
          contentType: 'application/problem+json',
        },
      },
      handle: async ({ body }) => ({
        status: 200,
        body: await settlement.batchSync({
          batchId: body.batchId,
          records: body.records.map(({ amount, ...rest }) => ({ ...rest, amountFen: amount })),
        }),
      }),
    }),
  ];
}
