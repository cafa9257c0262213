import { route, type AnyRoute } from '../../../shared/http/routes';
import {
  audienceIdParams,
  audiencePageSchema,
  audienceSchema,
  consumptionSchema,
  createAudienceBody,
  listAudiencesQuery,
  updateAudienceBody,
} from './viewers.schemas';
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
      method: 'patch',
      path: '/audiences/{audienceId}',
      summary: "Change a viewer's nickname or anonymity (the viewer itself or admin)",
      description: 'At least one of `nickname`, `anonymous`; the others stay as they are.',
      access: ['admin', 'audience'],
      params: audienceIdParams,
      body: updateAudienceBody,
      responses: { 200: { description: 'The viewer as changed', schema: audienceSchema } },
      handle: async ({ params, principal, body }) => ({
        status: 200,
        body: await viewers.updateAudienceAs(principal, params.audienceId, body),
      }),
    }),
    route({
      method: 'get',
      path: '/audiences',
      summary: 'List viewers, newest first (admin)',
      description: 'Filter by `status` and by `keyword`, any part of the nickname, case-insensitively.',
      access: ['admin'],
      query: listAudiencesQuery,
      responses: { 200: { description: 'A page of viewers', schema: audiencePageSchema } },
      handle: async ({ query }) => ({ status: 200, body: await viewers.listAudiences(query) }),
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
