import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import type { Clock } from '../../../shared/module';
import type { AudienceDto, ViewerProfileDto } from '../contract';
import { formatFen } from '../../../shared/money';
import { isoFromDbOrNull } from '../../../shared/db/time';
import {
  findAudience,
  findConsumption,
  findProfiles,
  insertAudience,
  listAudiences,
  updateAudience,
  type AudienceRow,
} from './viewers.repository';
import type { AudienceChanges, AudienceListQuery } from './viewers.schemas';

export function toAudienceDto(row: AudienceRow): AudienceDto {
  return {
    audienceId: row.id,
    nickname: row.nickname,
    status: row.status,
    // MariaDB and SQLite hand a BOOLEAN back as 0/1.
    anonymous: Boolean(row.anonymous),
    createdAt: isoFromDb(row.created_at),
    updatedAt: isoFromDb(row.updated_at),
  };
}

export function createViewersService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;
  return {
    async createAudience(input: { nickname: string }): Promise<AudienceDto> {
      const id = await insertAudience(db, { nickname: input.nickname, now: clock() });
      const row = await findAudience(db, id);
      if (!row) throw new Error(`audience ${id} vanished right after insert`);
      return toAudienceDto(row);
    },

    async getAudience(audienceId: number): Promise<AudienceDto | null> {
      const row = await findAudience(db, audienceId);
      return row ? toAudienceDto(row) : null;
    },

    /** Nickname and anonymity of several viewers in one query (live-room events); unknown ids are absent. */
    async viewerProfiles(audienceIds: readonly number[]): Promise<ViewerProfileDto[]> {
      const rows = await findProfiles(db, audienceIds);
      return rows.map((row) => ({ audienceId: row.id, nickname: row.nickname, anonymous: Boolean(row.anonymous) }));
    },

    async getConsumption(principal: Principal | null, audienceId: number) {
      assertMayActFor(principal, { audienceId });
      const row = await findConsumption(db, audienceId);
      if (!row) throw AppError.notFound('AUDIENCE_NOT_FOUND', `There is no viewer ${audienceId}.`);
      return {
        audienceId: row.id,
        totalAmount: formatFen(row.total_amount),
        rewardCount: row.reward_count,
        lastRewardAt: isoFromDbOrNull(row.last_reward_at),
      };
    },

    async getAudienceAs(principal: Principal | null, audienceId: number): Promise<AudienceDto> {
      assertMayActFor(principal, { audienceId });
      const row = await findAudience(db, audienceId);
      if (!row) throw AppError.notFound('AUDIENCE_NOT_FOUND', `There is no viewer ${audienceId}.`);
      return toAudienceDto(row);
    },

    /** The viewer itself or an admin changes its nickname and/or anonymity; someone else's id is 403 before any lookup. */
    async updateAudienceAs(principal: Principal | null, audienceId: number, changes: AudienceChanges): Promise<AudienceDto> {
      assertMayActFor(principal, { audienceId });
      const updated = await updateAudience(db, { id: audienceId, ...changes, now: clock() });
      const row = updated ? await findAudience(db, audienceId) : undefined;
      if (!row) throw AppError.notFound('AUDIENCE_NOT_FOUND', `There is no viewer ${audienceId}.`);
      return toAudienceDto(row);
    },

    /** A page of viewers, newest first (admin). */
    async listAudiences(query: AudienceListQuery) {
      const filter = { status: query.status, keyword: query.keyword || undefined };
      const { rows, total } = await listAudiences(db, filter, { limit: query.pageSize, offset: (query.page - 1) * query.pageSize });
      return { items: rows.map(toAudienceDto), page: query.page, pageSize: query.pageSize, total };
    },
  };
}

export type ViewersService = ReturnType<typeof createViewersService>;
