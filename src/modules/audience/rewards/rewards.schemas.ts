import { z } from 'zod';
import { TRACE_ID_PATTERN } from '../../../shared/trace';
import { idField, idParam, isoTime, moneyIn, moneyOut } from '../../../shared/http/schemas';

export function rewardBody(maxFen: number) {
  return z
    .strictObject({
      traceId: z
        .string()
        .regex(TRACE_ID_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 . _ -')
        .meta({ example: 'RC-20260102-103045-001' }),
      audienceId: idField,
      liveRoomId: idField,
      amount: moneyIn({ maxFen }),
      giftName: z.string().trim().min(1).max(64).optional(),
      message: z.string().max(255).optional(),
    })
    .meta({ id: 'RewardRequest' });
}

export type RewardInput = z.output<ReturnType<typeof rewardBody>>;

/** The batch is judged as a whole only for its shape; each item is then judged on its own. */
export const batchBody = z
  .strictObject({ items: z.array(z.unknown()).min(1, 'must hold 1 to 500 rewards').max(500, 'must hold 1 to 500 rewards') })
  .meta({ id: 'RewardBatchRequest' });

export const rewardSchema = z
  .object({
    rechargeId: z.number().int(),
    traceId: z.string(),
    audienceId: z.number().int(),
    liveRoomId: z.number().int(),
    anchorId: z.number().int(),
    amount: moneyOut,
    status: z
      .enum(['SUCCESS', 'REFUNDED'])
      .meta({ description: 'SUCCESS when stored; REFUNDED once refunded (the reads; a replay answers as the first time).' }),
    createdAt: isoTime,
  })
  .meta({ id: 'Reward' });

export const refundBody = z.strictObject({
  reason: z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
});

export const batchResultSchema = z
  .object({
    results: z.array(
      z.object({
        index: z.number().int(),
        status: z.number().int(),
        rechargeId: z.number().int().optional(),
        code: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'RewardBatchResult' });

export const rechargeIdParams = z.object({ rechargeId: idParam });
