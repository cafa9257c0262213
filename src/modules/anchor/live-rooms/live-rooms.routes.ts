import { route, type AnyRoute } from '../../../shared/http/routes';
import { formatFen } from '../../../shared/money';
import type { LiveRoomListsService } from './live-room-lists.service';
import {
  createLiveRoomBody,
  liveNowQuery,
  liveNowSchema,
  liveRoomIdParams,
  liveRoomListQuery,
  liveRoomPageSchema,
  liveRoomSchema,
  liveSessionPageSchema,
  liveSessionSchema,
  sessionsQuery,
  updateLiveRoomBody,
} from './live-rooms.schemas';
import type { LiveRoomsService } from './live-rooms.service';
import type { LiveSessionView, LiveSessionsService } from './live-sessions.service';

function sessionBody(session: LiveSessionView) {
  return {
    sessionId: session.sessionId,
    startedAt: session.startedAt,
    endedAt: session.endedAt,
    totalEarnings: formatFen(session.totalEarningsFen),
    rechargeCount: session.rechargeCount,
  };
}

export function liveRoomRoutes(rooms: LiveRoomsService, lists: LiveRoomListsService, sessions: LiveSessionsService): AnyRoute[] {
  return [
    // Before `/live-rooms/{liveRoomId}`: `live` must not be read as a room id.
    route({
      method: 'get',
      path: '/live-rooms/live',
      summary: 'Rooms live now, largest realtime earnings first (public)',
      description:
        'Each LIVE room with its exact realtime figures (as `GET /live-rooms/{id}/realtime`), ordered by `totalEarnings` (ties: more rewards, then the older room). `limit` 1-100, 50 by default. The figures are read for the 500 LIVE rooms with the largest flushed earnings: exact whenever at most that many rooms are live.',
      access: 'public',
      query: liveNowQuery,
      responses: { 200: { description: 'The rooms live now', schema: liveNowSchema } },
      handle: async ({ query }) => ({
        status: 200,
        body: {
          items: (await lists.liveNow(query.limit)).map(({ totalEarningsFen, ...room }) => ({
            ...room,
            totalEarnings: formatFen(totalEarningsFen),
          })),
        },
        headers: { 'Cache-Control': 'no-store' },
      }),
    }),
    route({
      method: 'get',
      path: '/live-rooms',
      summary: 'List live rooms, newest first (public)',
      description: 'Filters: status (without it, IDLE and LIVE rooms), anchorId, category (exactly), keyword (any part of the title).',
      access: 'public',
      query: liveRoomListQuery,
      responses: { 200: { description: 'A page of rooms', schema: liveRoomPageSchema } },
      handle: async ({ query }) => ({ status: 200, body: await lists.listLiveRooms(query) }),
    }),
    route({
      method: 'post',
      path: '/live-rooms',
      summary: 'Create a live room (admin, or the anchor itself)',
      access: ['admin', 'anchor'],
      body: createLiveRoomBody,
      responses: { 201: { description: 'Created, IDLE', schema: liveRoomSchema } },
      handle: async ({ body, principal }) => ({ status: 201, body: await rooms.createLiveRoom(principal, body) }),
    }),
    route({
      method: 'get',
      path: '/live-rooms/{liveRoomId}',
      summary: 'Get a live room',
      access: 'public',
      params: liveRoomIdParams,
      responses: { 200: { description: 'The live room', schema: liveRoomSchema } },
      handle: async ({ params }) => ({ status: 200, body: await rooms.requireLiveRoom(params.liveRoomId) }),
    }),
    route({
      method: 'patch',
      path: '/live-rooms/{liveRoomId}',
      summary: 'Change title, category and/or cover (owner or admin)',
      description: '`category: null` and `coverUrl: null` clear them. A CLOSED room no longer changes: 409 INVALID_STATE.',
      access: ['admin', 'anchor'],
      params: liveRoomIdParams,
      body: updateLiveRoomBody,
      responses: { 200: { description: 'The live room', schema: liveRoomSchema } },
      handle: async ({ params, body, principal }) => ({
        status: 200,
        body: await rooms.updateLiveRoom(principal, params.liveRoomId, body),
      }),
    }),
    route({
      method: 'post',
      path: '/live-rooms/{liveRoomId}/start',
      summary: 'Go live: opens a live session (no-op when already LIVE)',
      access: ['admin', 'anchor'],
      params: liveRoomIdParams,
      responses: { 200: { description: 'The room, LIVE', schema: liveRoomSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await rooms.startLiveRoom(principal, params.liveRoomId) }),
    }),
    route({
      method: 'post',
      path: '/live-rooms/{liveRoomId}/stop',
      summary: 'Stop: ends the live session (no-op when IDLE)',
      access: ['admin', 'anchor'],
      params: liveRoomIdParams,
      responses: { 200: { description: 'The room, IDLE', schema: liveRoomSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await rooms.stopLiveRoom(principal, params.liveRoomId) }),
    }),
    route({
      method: 'post',
      path: '/live-rooms/{liveRoomId}/close',
      summary: 'Close the room for good (owner or admin; a no-op when CLOSED)',
      description:
        'A LIVE room ends its session first. A closed room refuses rewards (409 LIVE_ROOM_NOT_LIVE), cannot start again (409 INVALID_STATE) and stays readable.',
      access: ['admin', 'anchor'],
      params: liveRoomIdParams,
      responses: { 200: { description: 'The room, CLOSED', schema: liveRoomSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await rooms.closeLiveRoom(principal, params.liveRoomId) }),
    }),
    route({
      method: 'get',
      path: '/live-rooms/{liveRoomId}/sessions',
      summary: "The room's live sessions with their totals, newest first (owner or admin)",
      description:
        "Totals are the session's reward rows, counted and summed; stored for good once the session ended SESSION_SETTLE_MS ago (a reward judged just before the stop may commit just after it), counted at each read until then. The running session is listed with `endedAt: null`.",
      access: ['admin', 'anchor'],
      params: liveRoomIdParams,
      query: sessionsQuery,
      responses: { 200: { description: 'A page of sessions', schema: liveSessionPageSchema } },
      handle: async ({ params, query, principal }) => {
        const page = await sessions.listSessions(principal, params.liveRoomId, query);
        return { status: 200, body: { ...page, items: page.items.map(sessionBody) } };
      },
    }),
    route({
      method: 'get',
      path: '/live-rooms/{liveRoomId}/sessions/current',
      summary: "The room's running session with its totals so far, or null when it is not LIVE (owner or admin)",
      access: ['admin', 'anchor'],
      params: liveRoomIdParams,
      responses: { 200: { description: 'The running session, or null', schema: liveSessionSchema.nullable() } },
      handle: async ({ params, principal }) => {
        const session = await sessions.currentSession(principal, params.liveRoomId);
        return { status: 200, body: session ? sessionBody(session) : null };
      },
    }),
  ];
}
