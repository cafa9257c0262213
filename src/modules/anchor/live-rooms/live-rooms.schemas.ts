import { z } from 'zod';
import { idField, idParam, isoTime, moneyOut, pageOf, pagingQuery, text } from '../../../shared/http/schemas';

const liveRoomStatus = z.enum(['IDLE', 'LIVE', 'CLOSED']);

export const createLiveRoomBody = z
  .strictObject({
    anchorId: idField,
    title: text(128),
    category: text(64).optional(),
  })
  .meta({ id: 'CreateLiveRoomRequest' });

export const updateLiveRoomBody = z
  .strictObject({
    title: text(128).optional(),
    category: text(64).nullable().optional().meta({ description: 'null clears it.' }),
    coverUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(512)
      .nullable()
      .optional()
      .meta({ description: 'An http(s) URL; null clears it.' }),
  })
  .refine((body) => body.title !== undefined || body.category !== undefined || body.coverUrl !== undefined, {
    message: 'give at least one of title, category, coverUrl',
  })
  .meta({ id: 'UpdateLiveRoomRequest' });

export const liveRoomIdParams = z.object({ liveRoomId: idParam });

const roomFields = {
  liveRoomId: z.number().int(),
  anchorId: z.number().int(),
  title: z.string(),
  category: z.string().nullable(),
  coverUrl: z.string().nullable(),
  status: liveRoomStatus,
  currentSessionId: z.number().int().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
};

export const liveRoomSchema = z.object(roomFields).meta({ id: 'LiveRoom' });

export const liveRoomPageSchema = pageOf(liveRoomSchema).meta({ id: 'LiveRoomPage' });

export const liveRoomListQuery = z.object({
  ...pagingQuery,
  status: liveRoomStatus.optional().meta({ description: 'Without it: IDLE and LIVE rooms (CLOSED ones only when asked for).' }),
  anchorId: idParam.optional(),
  category: text(64).optional().meta({ description: 'Exactly this category.' }),
  keyword: text(128).optional().meta({ description: 'Any part of the title, case-insensitively.' }),
});

export const anchorRoomsQuery = z.object({
  ...pagingQuery,
  status: liveRoomStatus.optional().meta({ description: 'Without it: every room of the anchor, CLOSED ones too.' }),
});

export const LIVE_NOW_MAX = 100;

export const liveNowQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(LIVE_NOW_MAX)
    .default(50)
    .meta({ description: `At most ${LIVE_NOW_MAX}; 50 by default.` }),
});

export const liveNowSchema = z
  .object({
    items: z.array(z.object({ ...roomFields, totalEarnings: moneyOut, rechargeCount: z.number().int() }).meta({ id: 'LiveNowRoom' })),
  })
  .meta({ id: 'LiveNow' });

export const liveSessionSchema = z
  .object({
    sessionId: z.number().int(),
    startedAt: isoTime,
    endedAt: isoTime.nullable(),
    totalEarnings: moneyOut,
    rechargeCount: z.number().int(),
  })
  .meta({ id: 'LiveSession' });

export const liveSessionPageSchema = pageOf(liveSessionSchema).meta({ id: 'LiveSessionPage' });

export const sessionsQuery = z.object({ ...pagingQuery });
