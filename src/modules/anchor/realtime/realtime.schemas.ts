import { z } from 'zod';
import { idField, idParam, isoTime, moneyIn, moneyOut } from '../../../shared/http/schemas';
import { TRACE_ID_PATTERN } from '../../../shared/trace';

export const applyRewardBody = z
  .strictObject({
    rechargeId: idField,
    traceId: z.string().regex(TRACE_ID_PATTERN, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
    liveRoomId: idField,
    audienceId: idField,
    amount: moneyIn(),
  })
  .meta({ id: 'ApplyRewardRequest' });

export const realtimeFiguresSchema = z
  .object({
    liveRoomId: z.number().int(),
    totalEarnings: moneyOut,
    rechargeCount: z.number().int(),
    degraded: z.boolean().meta({ description: 'True when Redis was unusable and the reward went straight to DB1.' }),
  })
  .meta({ id: 'RealtimeFigures' });

export const realtimeViewSchema = z
  .object({
    liveRoomId: z.number().int(),
    anchorId: z.number().int(),
    status: z.enum(['IDLE', 'LIVE', 'CLOSED']),
    totalEarnings: moneyOut,
    rechargeCount: z.number().int(),
    updatedAt: isoTime,
    source: z.enum(['redis', 'db']),
  })
  .meta({ id: 'RealtimeView' });

export const realtimeParams = z.object({ liveRoomId: idParam });

export const realtimeManyQuery = z.object({
  ids: z
    .string()
    .regex(/^[1-9]\d{0,15}(,[1-9]\d{0,15}){0,99}$/, 'must be 1 to 100 comma-separated positive integer ids')
    // 16 digits can exceed 2^53 and be rounded to another room: refused, as in a path.
    .refine(
      (value) => value.split(',').every((id) => Number.isSafeInteger(Number(id))),
      'must be 1 to 100 comma-separated positive integer ids',
    )
    .transform((value) => [...new Set(value.split(',').map(Number))]),
});
