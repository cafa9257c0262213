import { route, type AnyRoute } from '../../../shared/http/routes';
import { financeShapes } from '../../finance';
import { anchorRoomsQuery, liveRoomPageSchema } from '../live-rooms/live-rooms.schemas';
import type { LiveRoomListsService } from '../live-rooms/live-room-lists.service';
import type { AnchorStatusService } from './anchor-status.service';
import { anchorIdParams, anchorListQuery, anchorPageSchema, anchorSchema, createAnchorBody, updateAnchorBody } from './anchors.schemas';
import type { AnchorsService } from './anchors.service';

export function anchorRoutes(anchors: AnchorsService, status: AnchorStatusService, lists: LiveRoomListsService): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/anchors',
      summary: 'Create an anchor',
      access: ['admin'],
      body: createAnchorBody,
      responses: { 201: { description: 'Created', schema: anchorSchema } },
      handle: async ({ body }) => ({ status: 201, body: await anchors.createAnchor(body) }),
    }),
    route({
      method: 'get',
      path: '/anchors',
      summary: 'List anchors (admin), newest first, by status and a part of the name',
      access: ['admin'],
      query: anchorListQuery,
      responses: { 200: { description: 'A page of anchors', schema: anchorPageSchema } },
      handle: async ({ query }) => ({ status: 200, body: await anchors.listAnchors(query) }),
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}',
      summary: 'Get an anchor (admin or the anchor itself)',
      description: 'A deleted anchor reads as `status: "DELETED"` to admins and is 404 ANCHOR_NOT_FOUND to everyone else.',
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      responses: { 200: { description: 'The anchor', schema: anchorSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await anchors.getAnchor(principal, params.anchorId) }),
    }),
    route({
      method: 'patch',
      path: '/anchors/{anchorId}',
      summary: 'Change the name and/or avatar (admin or the anchor itself)',
      description: '`avatarUrl: null` clears the avatar. A deleted anchor cannot change: 409 INVALID_STATE to an admin.',
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      body: updateAnchorBody,
      responses: { 200: { description: 'The anchor', schema: anchorSchema } },
      handle: async ({ params, body, principal }) => ({
        status: 200,
        body: await anchors.updateAnchor(principal, params.anchorId, body),
      }),
    }),
    route({
      method: 'post',
      path: '/anchors/{anchorId}/disable',
      summary: 'Disable an anchor (admin; a no-op when disabled already)',
      description:
        'Its rooms refuse rewards at once, on every instance (403 ACCOUNT_DISABLED), and its LIVE rooms end their sessions (IDLE). A deleted anchor: 409 INVALID_STATE.',
      access: ['admin'],
      params: anchorIdParams,
      responses: { 200: { description: 'The anchor, DISABLED', schema: anchorSchema } },
      handle: async ({ params }) => ({ status: 200, body: await status.disableAnchor(params.anchorId) }),
    }),
    route({
      method: 'post',
      path: '/anchors/{anchorId}/enable',
      summary: 'Enable an anchor (admin; a no-op when active already)',
      description: 'Its rooms take rewards again once they go live. A deleted anchor: 409 INVALID_STATE.',
      access: ['admin'],
      params: anchorIdParams,
      responses: { 200: { description: 'The anchor, ACTIVE', schema: anchorSchema } },
      handle: async ({ params }) => ({ status: 200, body: await status.enableAnchor(params.anchorId) }),
    }),
    route({
      method: 'delete',
      path: '/anchors/{anchorId}',
      summary: 'Delete an anchor, softly (admin; deleting it again is a no-op)',
      description:
        'The anchor then reads as `status: "DELETED"` to admins and 404 ANCHOR_NOT_FOUND to everyone else; its live sessions end, its rooms are CLOSED and refuse rewards (403 ACCOUNT_DISABLED). Its rewards, sessions and balance stay.',
      access: ['admin'],
      params: anchorIdParams,
      responses: { 204: { description: 'Deleted' } },
      handle: async ({ params }) => {
        await status.deleteAnchor(params.anchorId);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/live-rooms',
      summary: "The anchor's live rooms, newest first (the anchor itself or admin)",
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      query: anchorRoomsQuery,
      responses: { 200: { description: 'A page of rooms', schema: liveRoomPageSchema } },
      handle: async ({ params, query, principal }) => ({
        status: 200,
        body: await lists.anchorLiveRooms(principal, params.anchorId, query),
      }),
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/balance',
      summary: "The anchor's balance, from finance (the anchor itself or admin)",
      description: 'As `GET /finance/api/v1/balances/{anchorId}`. 503 DEPENDENCY_UNAVAILABLE while finance does not answer.',
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      responses: { 200: { description: 'The balance', schema: financeShapes.balanceSchema } },
      handle: async ({ params, principal }) => ({
        status: 200,
        body: financeShapes.balanceOut(await anchors.getBalance(principal, params.anchorId)),
      }),
    }),
  ];
}
