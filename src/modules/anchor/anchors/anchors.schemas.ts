import { z } from 'zod';
import { idParam, isoTime, pageOf, pagingQuery, text } from '../../../shared/http/schemas';

const avatarUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(512)
  .meta({ description: 'An http(s) URL, at most 512 characters.' });

export const createAnchorBody = z
  .strictObject({
    name: text(64),
    avatarUrl: avatarUrl.optional(),
  })
  .meta({ id: 'CreateAnchorRequest' });

export const updateAnchorBody = z
  .strictObject({
    name: text(64).optional(),
    avatarUrl: avatarUrl.nullable().optional().meta({ description: 'An http(s) URL; null clears the avatar.' }),
  })
  .refine((body) => body.name !== undefined || body.avatarUrl !== undefined, { message: 'give name, avatarUrl or both' })
  .meta({ id: 'UpdateAnchorRequest' });

export const anchorIdParams = z.object({ anchorId: idParam });

export const anchorStatusSchema = z
  .enum(['ACTIVE', 'DISABLED', 'DELETED'])
  .meta({ description: 'DELETED (soft-deleted) is seen by admins only; to everyone else the anchor is 404.' });

export const anchorSchema = z
  .object({
    anchorId: z.number().int(),
    name: z.string(),
    avatarUrl: z.string().nullable(),
    status: anchorStatusSchema,
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Anchor' });

export const anchorListQuery = z.object({
  ...pagingQuery,
  status: anchorStatusSchema.optional().meta({ description: 'Without it: ACTIVE and DISABLED anchors (DELETED only when asked for).' }),
  keyword: text(64).optional().meta({ description: 'Any part of the name, case-insensitively.' }),
});

export const anchorPageSchema = pageOf(anchorSchema).meta({ id: 'AnchorPage' });
