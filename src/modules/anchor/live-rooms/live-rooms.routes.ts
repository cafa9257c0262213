import { route, type AnyRoute } from '../../../shared/http/routes';
import { createLiveRoomBody, liveRoomIdParams, liveRoomSchema } from './live-rooms.schemas';
import type { LiveRoomsService } from './live-rooms.service';

export function liveRoomRoutes(rooms: LiveRoomsService): AnyRoute[] {
  return [
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
  ];
}
