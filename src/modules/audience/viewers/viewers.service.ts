import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import type { Clock } from '../../../shared/module';
import type { AudienceDto } from '../contract';
import { formatFen } from '../../../shared/money';
import { isoFromDbOrNull } from '../../../shared/db/time';
import { findAudience, findConsumption, insertAudience, type AudienceRow } from './viewers.repository';

export function toAudienceDto(row: AudienceRow): AudienceDto {
  return {
    audienceId: row.id,
    nickname: row.nickname,
    status: row.status,
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
  };
}

export type ViewersService = ReturnType<typeof createViewersService>;
