import { z } from 'zod';
import { idParam, isoTime, moneyOut, text } from '../../../shared/http/schemas';

export const createAudienceBody = z.strictObject({ nickname: text(64) }).meta({ id: 'CreateAudienceRequest' });

export const audienceIdParams = z.object({ audienceId: idParam });

export const audienceSchema = z
  .object({
    audienceId: z.number().int(),
    nickname: z.string(),
    status: z.enum(['ACTIVE', 'DISABLED']),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Audience' });

export const consumptionSchema = z
  .object({ audienceId: z.number().int(), totalAmount: moneyOut, rewardCount: z.number().int(), lastRewardAt: isoTime.nullable() })
  .meta({ id: 'Consumption' });
