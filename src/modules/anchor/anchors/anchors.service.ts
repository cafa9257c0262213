import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, type Principal } from '../../../shared/http/auth';
import type { Clock } from '../../../shared/module';
import type { AnchorDto } from '../contract';
import { findAnchor, insertAnchor, type AnchorRow } from './anchors.repository';

export function toAnchorDto(row: AnchorRow): AnchorDto {
  return {
    anchorId: row.id,
    name: row.name,
    avatarUrl: row.avatar_url,
    status: row.status,
    createdAt: isoFromDb(row.created_at),
    updatedAt: isoFromDb(row.updated_at),
  };
}

export function anchorNotFound(id: number): AppError {
  return AppError.notFound('ANCHOR_NOT_FOUND', `There is no anchor ${id}.`);
}

export function createAnchorsService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;
  return {
    async createAnchor(input: { name: string; avatarUrl?: string | undefined }): Promise<AnchorDto> {
      const id = await insertAnchor(db, { name: input.name, avatarUrl: input.avatarUrl ?? null, now: clock() });
      const row = await findAnchor(db, id);
      if (!row) throw new Error(`anchor ${id} vanished right after insert`);
      return toAnchorDto(row);
    },

    async findAnchor(anchorId: number): Promise<AnchorDto | null> {
      const row = await findAnchor(db, anchorId);
      return row ? toAnchorDto(row) : null;
    },

    async getAnchor(principal: Principal | null, anchorId: number): Promise<AnchorDto> {
      assertMayActFor(principal, { anchorId });
      const row = await findAnchor(db, anchorId);
      if (!row) throw anchorNotFound(anchorId);
      return toAnchorDto(row);
    },
  };
}

export type AnchorsService = ReturnType<typeof createAnchorsService>;
