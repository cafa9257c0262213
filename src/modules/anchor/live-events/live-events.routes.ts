import { z } from 'zod';
import { AppError } from '../../../shared/http/app-error';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { problemSchema } from '../../../shared/http/schemas';
import { realtimeParams } from '../realtime/realtime.schemas';
import type { LiveEventsHub } from './live-events.hub';

/** `Last-Event-ID` as the client sent it back; anything but a plain integer id starts the stream live. */
function lastEventIdOf(header: string | undefined): number | null {
  return header !== undefined && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : null;
}

const eventStreamText = z.string().meta({
  description:
    'Server-Sent Events. Each reward counted in the room: `id: <n>` (increasing per room), `event: reward`, `data: {"rechargeId","audienceId","nickname","amount","totalEarnings","rechargeCount","createdAt"}` (`audienceId` and `nickname` null for an anonymous viewer). A comment line (`: keep-alive`) at least every 15 s.',
  example:
    'id: 42\nevent: reward\ndata: {"rechargeId":9001,"audienceId":123,"nickname":"Bob","amount":"100.00","totalEarnings":"4200.00","rechargeCount":42,"createdAt":"2026-01-02T10:30:45.123Z"}\n\n',
});

export function liveEventRoutes(hub: LiveEventsHub, roomExists: (liveRoomId: number) => Promise<boolean>): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/live-rooms/{liveRoomId}/realtime/stream',
      summary: 'A room’s reward events as they happen (Server-Sent Events)',
      description:
        'One event per reward counted in the room, in order. A client reconnecting with `Last-Event-ID: n` first receives every event after `n` still kept (at least the room’s last 1000), then the live ones. A client that leaves too much unread is disconnected (it reconnects and replays). Unknown room → 404 before the stream starts; 503 when this instance serves its maximum of streams.',
      access: 'public',
      params: realtimeParams,
      responses: {
        200: { description: 'The event stream', schema: eventStreamText, contentType: 'text/event-stream' },
        503: {
          description: 'Too many streams on this instance (DEPENDENCY_UNAVAILABLE)',
          schema: problemSchema,
          contentType: 'application/problem+json',
        },
      },
      handle: async ({ params, req, res }) => {
        if (!(await roomExists(params.liveRoomId)))
          throw AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${params.liveRoomId}.`);
        await hub.subscribe(params.liveRoomId, res, lastEventIdOf(req.get('last-event-id')));
      },
    }),
  ];
}
