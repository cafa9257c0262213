import { z } from 'zod';
import { idParam, isoTime, text } from '../../../shared/http/schemas';

export const createAnchorBody = z
  .strictObject({
    name: text(64),
    avatarUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(512)
      .optional(),
  })
  .meta({ id: 'CreateAnchorRequest' });

export const anchorIdParams = z.object({ anchorId: idParam });

export const anchorSchema = z
  .object({
    anchorId: z.number().int(),
    name: z.string(),
    avatarUrl: z.string().nullable(),
    status: z.enum(['ACTIVE', 'DISABLED']),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Anchor' });
