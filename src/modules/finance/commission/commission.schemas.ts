import { z } from 'zod';
import { idField, isoTime, isoTimeIn } from '../../../shared/http/schemas';
import { formatBasisPoints, parseRateToBasisPoints } from '../../../shared/money';
import type { CommissionRateDto as RateFen, EffectiveRateDto } from '../contract';

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

export const effectiveRateSchema = z
  .object({
    anchorId: z.number().int(),
    rate: z.string().meta({ example: '0.7000' }),
    source: z.enum(['anchor', 'default']),
    effectiveFrom: isoTime.nullable().meta({ description: 'Null for the default rate.' }),
  })
  .meta({ id: 'EffectiveCommissionRate' });

/** The contract's basis points as API.md's four-decimal strings. */
export function rateOut(rate: RateFen) {
  return {
    rateId: rate.rateId,
    anchorId: rate.anchorId,
    rate: formatBasisPoints(rate.rateBp),
    effectiveFrom: rate.effectiveFrom,
    createdAt: rate.createdAt,
  };
}

export function effectiveRateOut(rate: EffectiveRateDto) {
  return { anchorId: rate.anchorId, rate: formatBasisPoints(rate.rateBp), source: rate.source, effectiveFrom: rate.effectiveFrom };
}
