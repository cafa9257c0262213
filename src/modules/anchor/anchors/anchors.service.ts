import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { assertMayActFor, requireAuthenticated, type Principal } from '../../../shared/http/auth';
import type { Clock } from '../../../shared/module';
import type { AnchorBalanceDto, FinanceServiceClient } from '../../finance/contract';
import type { AnchorDto, AnchorStatus } from '../contract';
import {
  findAnchor,
  findAnchorAnyState,
  insertAnchor,
  listAnchors,
  updateAnchorProfile,
  type AnchorListFilter,
  type AnchorRow,
} from './anchors.repository';

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

export function anchorDeleted(id: number): AppError {
  return AppError.conflict('INVALID_STATE', `Anchor ${id} is deleted and can no longer change.`);
}

/**
 * The anchor as this caller may see it: its own (or, for an admin, any) anchor; a deleted one only
 * to an admin (status DELETED) — to everyone else, the anchor's own token included, it is 404.
 */
export async function visibleAnchor(db: Db, principal: Principal | null, anchorId: number): Promise<AnchorRow> {
  assertMayActFor(principal, { anchorId });
  const admin = requireAuthenticated(principal).role === 'admin';
  const row = admin ? await findAnchorAnyState(db, anchorId) : await findAnchor(db, anchorId);
  if (!row) throw anchorNotFound(anchorId);
  return row;
}

export interface AnchorListQuery {
  page: number;
  pageSize: number;
  status?: AnchorStatus | undefined;
  keyword?: string | undefined;
}

export function createAnchorsService(deps: { db: Db; clock: Clock; finance: Pick<FinanceServiceClient, 'anchorBalance'> }) {
  const { db, clock } = deps;
  return {
    async createAnchor(input: { name: string; avatarUrl?: string | undefined }): Promise<AnchorDto> {
      const id = await insertAnchor(db, { name: input.name, avatarUrl: input.avatarUrl ?? null, now: clock() });
      const row = await findAnchor(db, id);
      if (!row) throw new Error(`anchor ${id} vanished right after insert`);
      return toAnchorDto(row);
    },

    /** For other modules: a deleted anchor is no anchor. */
    async findAnchor(anchorId: number): Promise<AnchorDto | null> {
      const row = await findAnchor(db, anchorId);
      return row ? toAnchorDto(row) : null;
    },

    async getAnchor(principal: Principal | null, anchorId: number): Promise<AnchorDto> {
      return toAnchorDto(await visibleAnchor(db, principal, anchorId));
    },

    /** Name and/or avatar (null clears it); a deleted anchor cannot change (409 to an admin, 404 to itself). */
    async updateAnchor(
      principal: Principal | null,
      anchorId: number,
      patch: { name?: string | undefined; avatarUrl?: string | null | undefined },
    ): Promise<AnchorDto> {
      return db.transaction(async (trx) => {
        const row = await visibleAnchor(trx, principal, anchorId);
        if (row.status === 'DELETED') throw anchorDeleted(anchorId);
        await updateAnchorProfile(trx, { id: anchorId, name: patch.name, avatarUrl: patch.avatarUrl, now: clock() });
        const updated = await findAnchorAnyState(trx, anchorId);
        if (!updated) throw anchorNotFound(anchorId);
        return toAnchorDto(updated);
      });
    },

    /** Newest first. Without a status: the ACTIVE and DISABLED ones; DELETED only when asked for. */
    async listAnchors(query: AnchorListQuery) {
      const filter: AnchorListFilter = {
        statuses: query.status ? [query.status] : ['ACTIVE', 'DISABLED'],
        keyword: query.keyword,
      };
      const { rows, total } = await listAnchors(db, filter, { offset: (query.page - 1) * query.pageSize, limit: query.pageSize });
      return { items: rows.map(toAnchorDto), page: query.page, pageSize: query.pageSize, total };
    },

    /** The anchor's balance as finance keeps it (503 DEPENDENCY_UNAVAILABLE while finance does not answer). */
    async getBalance(principal: Principal | null, anchorId: number): Promise<AnchorBalanceDto> {
      await visibleAnchor(db, principal, anchorId);
      return deps.finance.anchorBalance(anchorId);
    },
  };
}

export type AnchorsService = ReturnType<typeof createAnchorsService>;
