import { route, type AnyRoute } from '../../../shared/http/routes';
import { audienceIdParams, audienceSchema, consumptionSchema, createAudienceBody } from './viewers.schemas';
import type { ViewersService } from './viewers.service';

export function viewerRoutes(viewers: ViewersService): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/audiences',
      summary: 'Create a viewer (admin or service)',
      access: ['admin', 'service'],
      body: createAudienceBody,
      responses: { 201: { description: 'Created', schema: audienceSchema } },
      handle: async ({ body }) => ({ status: 201, body: await viewers.createAudience(body) }),
    }),
    route({
      method: 'get',
      path: '/audiences/{audienceId}',
      summary: 'Get a viewer (the viewer itself, admin or service)',
      access: ['admin', 'service', 'audience'],
      params: audienceIdParams,
      responses: { 200: { description: 'The viewer', schema: audienceSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await viewers.getAudienceAs(principal, params.audienceId) }),
    }),
    route({
      method: 'get',
      path: '/audiences/{audienceId}/consumption',
      summary: "A viewer's consumption: total rewarded, count, last reward (the viewer itself, admin or service)",
      access: ['admin', 'service', 'audience'],
      params: audienceIdParams,
      responses: { 200: { description: 'Consumption stats', schema: consumptionSchema } },
      handle: async ({ params, principal }) => ({ status: 200, body: await viewers.getConsumption(principal, params.audienceId) }),
    }),
  ];
}
