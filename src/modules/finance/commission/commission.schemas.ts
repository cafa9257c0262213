import { z } from 'zod';
import { idField, isoTime, isoTimeIn } from '../../../shared/http/schemas';
import { parseRateToBasisPoints } from '../../../shared/money';

/** A rate in a request: "0.7000" or 0.7 — between 0 and 1, at most four decimals; becomes basis points. */
export const rateIn = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    const bp = parseRateToBasisPoints(value);
    if (bp === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a rate between 0 and 1 with at most four decimals, like "0.7000"' });
      return z.NEVER;
    }
    return bp;
  })
  .meta({ type: 'string', example: '0.7000', description: "The anchor's share, 0 to 1, at most four decimals." });

export const createRateBody = z
  .strictObject({
    anchorId: idField,
    rate: rateIn,
    effectiveFrom: isoTimeIn().optional(),
  })
  .meta({ id: 'CreateCommissionRateRequest' });

export const rateSchema = z
  .object({
    rateId: z.number().int(),
    anchorId: z.number().int(),
    rate: z.string().meta({ example: '0.7000' }),
    effectiveFrom: isoTime,
    createdAt: isoTime,
  })
  .meta({ id: 'CommissionRate' });
