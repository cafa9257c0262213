import { z } from 'zod';
import { idField, idParam, isoTime, text } from '../../../shared/http/schemas';

export const createLiveRoomBody = z
  .strictObject({
    anchorId: idField,
    title: text(128),
    category: text(64).optional(),
  })
  .meta({ id: 'CreateLiveRoomRequest' });

export const liveRoomIdParams = z.object({ liveRoomId: idParam });

export const liveRoomSchema = z
  .object({
    liveRoomId: z.number().int(),
    anchorId: z.number().int(),
    title: z.string(),
    category: z.string().nullable(),
    status: z.enum(['IDLE', 'LIVE', 'CLOSED']),
    currentSessionId: z.number().int().nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'LiveRoom' });
