import { z } from 'zod';
import { idParam, isoTime, moneyOut, pageOf, pagingQuery, text } from '../../../shared/http/schemas';

export const NICKNAME_MAX = 64;

export const createAudienceBody = z.strictObject({ nickname: text(NICKNAME_MAX) }).meta({ id: 'CreateAudienceRequest' });

export const updateAudienceBody = z
  .strictObject({
    nickname: text(NICKNAME_MAX).optional(),
    anonymous: z.boolean().optional().meta({ description: 'true: leaderboards and live-room events show the viewer without id and name.' }),
  })
  .refine((body) => body.nickname !== undefined || body.anonymous !== undefined, {
    message: 'must name at least one of nickname, anonymous',
    // An unknown field is reported alone: a body like { "status": … } is wrong for that reason.
    when: (payload) => payload.issues.length === 0,
  })
  .meta({ id: 'UpdateAudienceRequest' });

export type AudienceChanges = z.output<typeof updateAudienceBody>;

export const audienceIdParams = z.object({ audienceId: idParam });

export const listAudiencesQuery = z.object({
  ...pagingQuery,
  status: z.enum(['ACTIVE', 'DISABLED']).optional(),
  keyword: z
    .string()
    .trim()
    .max(NICKNAME_MAX, `must be at most ${NICKNAME_MAX} characters`)
    .optional()
    .meta({ description: 'Any part of the nickname, case-insensitively (`%` and `_` match themselves); blank = no filter.' }),
});

export type AudienceListQuery = z.output<typeof listAudiencesQuery>;

export const audienceSchema = z
  .object({
    audienceId: z.number().int(),
    nickname: z.string(),
    status: z.enum(['ACTIVE', 'DISABLED']),
    anonymous: z.boolean().meta({ description: 'Shown as `audienceId: null, nickname: null` in leaderboards and live-room events.' }),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Audience' });

export const audiencePageSchema = pageOf(audienceSchema).meta({ id: 'AudiencePage' });

export const consumptionSchema = z
  .object({ audienceId: z.number().int(), totalAmount: moneyOut, rewardCount: z.number().int(), lastRewardAt: isoTime.nullable() })
  .meta({ id: 'Consumption' });
