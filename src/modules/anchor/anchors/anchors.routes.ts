import { route, type AnyRoute } from '../../../shared/http/routes';
import { anchorIdParams, anchorSchema, createAnchorBody } from './anchors.schemas';
import type { AnchorsService } from './anchors.service';

export function anchorRoutes(anchors: AnchorsService): AnyRoute[] {
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
      path: '/anchors/{anchorId}',
      summary: 'Get an anchor (admin or the anchor itself)',
      access: ['admin', 'anchor'],
      params: anchorIdParams,
      responses: { 200: { description: 'The anchor', schema: anchorSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await anchors.getAnchor(principal, params.anchorId) }),
    }),
  ];
}
