import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { formatBasisPoints } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import type { AnchorServiceClient } from '../../anchor/contract';
import { findRate, insertRate, type CommissionRateRow } from './commission.repository';

/** Clock skew tolerated for an effectiveFrom "now" sent by a client; such a time is moved up to now. */
const SKEW_MS = 5000;

export interface CommissionRateDto {
  rateId: number;
  anchorId: number;
  rate: string;
  effectiveFrom: string;
  createdAt: string;
}

function toDto(row: CommissionRateRow): CommissionRateDto {
  return {
    rateId: row.id,
    anchorId: row.anchor_id,
    rate: formatBasisPoints(row.rate_bp),
    effectiveFrom: isoFromDb(row.effective_from),
    createdAt: isoFromDb(row.created_at),
  };
}

export function createCommissionService(deps: { db: Db; clock: Clock; anchors: Pick<AnchorServiceClient, 'getAnchor'> }) {
  const { db, clock } = deps;
  return {
    /**
     * A new rate for an anchor from `effectiveFrom` (default now). Never in the past, so a reward
     * already made — settled or not — keeps the rate it was made under.
     */
    async setRate(input: { anchorId: number; rate: number; effectiveFrom?: string | undefined }): Promise<CommissionRateDto> {
      const now = clock();
      let effectiveFrom = input.effectiveFrom === undefined ? now : new Date(input.effectiveFrom);
      if (effectiveFrom.getTime() < now.getTime() - SKEW_MS) {
        throw AppError.validation([{ field: 'effectiveFrom', message: 'must not be in the past: settled history never changes' }]);
      }
      if (effectiveFrom < now) effectiveFrom = now;
      if (!(await deps.anchors.getAnchor(input.anchorId)))
        throw AppError.notFound('ANCHOR_NOT_FOUND', `There is no anchor ${input.anchorId}.`);
      const id = await insertRate(db, { anchorId: input.anchorId, rateBp: input.rate, effectiveFrom, now });
      const row = await findRate(db, id);
      if (!row) throw new Error(`commission rate ${id} vanished right after insert`);
      return toDto(row);
    },
  };
}

export type CommissionService = ReturnType<typeof createCommissionService>;
