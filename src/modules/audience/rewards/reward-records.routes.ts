import { route, type AnyRoute } from '../../../shared/http/routes';
import {
  rewardRecordPageAnswer,
  rewardRecordPageSchema,
  rewardRecordsQuery,
  SNAPSHOT_PAGING_DESCRIPTION,
} from '../../../shared/http/reward-record-schemas';
import { audienceIdParams } from '../viewers/viewers.schemas';
import type { ViewerRewards } from './reward-records.service';

export function rewardRecordRoutes(viewerRewards: ViewerRewards): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/audiences/{audienceId}/rewards',
      summary: "A viewer's rewards, paged (the viewer itself, service or admin)",
      description: SNAPSHOT_PAGING_DESCRIPTION,
      access: ['admin', 'service', 'audience'],
      params: audienceIdParams,
      query: rewardRecordsQuery,
      responses: { 200: { description: 'One page of the viewer’s rewards', schema: rewardRecordPageSchema } },
      handle: async ({ params, query, principal }) =>
        rewardRecordPageAnswer(await viewerRewards(principal, params.audienceId, query), query),
    }),
  ];
}
