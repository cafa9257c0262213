import { z } from 'zod';
import { route, type AnyRoute } from '../../../shared/http/routes';
import { rewardRecordPageAnswer, SNAPSHOT_PAGING_DESCRIPTION } from '../../../shared/http/reward-record-schemas';
import type { Logger } from '../../../shared/logger';
import { sendCsvDownload } from './reward-csv';
import {
  anchorIdParams,
  CSV_HEADER,
  dailySummaryQuery,
  dailySummarySchema,
  liveRoomIdParams,
  MAX_SUMMARY_DAYS,
  rewardRangeQuery,
  rewardRecordPageSchema,
  rewardRecordsQuery,
} from './reward-records.schemas';
import type { RewardRecordsService } from './reward-records.service';

const OWNER_OR_ADMIN = ['admin', 'anchor'] as const;

export function rewardRecordRoutes(records: RewardRecordsService, logger: Logger): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/anchors/{anchorId}/rewards',
      summary: "An anchor's rewards, paged (the anchor itself or admin)",
      description: SNAPSHOT_PAGING_DESCRIPTION,
      access: OWNER_OR_ADMIN,
      params: anchorIdParams,
      query: rewardRecordsQuery,
      responses: { 200: { description: 'One page of the anchor’s rewards', schema: rewardRecordPageSchema } },
      handle: async ({ params, query, principal }) =>
        rewardRecordPageAnswer(await records.anchorRewards(principal, params.anchorId, query), query),
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/rewards/daily',
      summary: "An anchor's rewards summed per day (the anchor itself or admin)",
      description: `Days in the configured time zone (\`timeZone\`), \`[from, to)\` as dates, every day present (zeros included), at most ${MAX_SUMMARY_DAYS} days; by default the last 30 days up to today.`,
      access: OWNER_OR_ADMIN,
      params: anchorIdParams,
      query: dailySummaryQuery,
      responses: { 200: { description: 'One item per day, oldest first', schema: dailySummarySchema } },
      handle: async ({ params, query, principal }) => ({
        status: 200,
        body: await records.dailySummary(principal, params.anchorId, query),
      }),
    }),
    route({
      method: 'get',
      path: '/anchors/{anchorId}/rewards.csv',
      summary: "An anchor's rewards as a CSV download, oldest first (the anchor itself or admin)",
      description: `Header line \`${CSV_HEADER}\`, one line per reward, streamed from the database as the client reads. Errors before the download starts are problem+json; a failure during it breaks the connection (the transfer ends without its final chunk), so an incomplete file is always detectable.`,
      access: OWNER_OR_ADMIN,
      params: anchorIdParams,
      query: rewardRangeQuery,
      responses: {
        200: { description: 'The rewards as CSV', contentType: 'text/csv', schema: z.string().meta({ example: `${CSV_HEADER}\n` }) },
      },
      handle: async ({ params, query, principal, res }) => {
        const pages = await records.exportAnchorRewards(principal, params.anchorId, query);
        await sendCsvDownload(res, {
          filename: `anchor-${params.anchorId}-rewards.csv`,
          pages,
          onAbort: (error) => logger.warn({ err: error, anchorId: params.anchorId }, 'reward CSV download broken off'),
        });
      },
    }),
    route({
      method: 'get',
      path: '/live-rooms/{liveRoomId}/rewards',
      summary: "A live room's rewards, paged (the room's anchor or admin)",
      description: SNAPSHOT_PAGING_DESCRIPTION,
      access: OWNER_OR_ADMIN,
      params: liveRoomIdParams,
      query: rewardRecordsQuery,
      responses: { 200: { description: 'One page of the room’s rewards', schema: rewardRecordPageSchema } },
      handle: async ({ params, query, principal }) =>
        rewardRecordPageAnswer(await records.roomRewards(principal, params.liveRoomId, query), query),
    }),
  ];
}
