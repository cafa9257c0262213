import type { Db } from '../../../shared/db/knex';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import { formatBasisPoints } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import type { AnchorServiceClient } from '../../anchor/contract';
import type { CommissionRateDto as CommissionRateFen, EffectiveRateDto, Page } from '../contract';
import {
  deleteFutureRate,
  findRate,
  insertRate,
  rateHistory,
  ratesInForce,
  ratesUntil,
  type CommissionRateRow,
} from './commission.repository';

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

function toContract(row: CommissionRateRow): CommissionRateFen {
  return {
    rateId: row.id,
    anchorId: row.anchor_id,
    rateBp: row.rate_bp,
    effectiveFrom: isoFromDb(row.effective_from),
    createdAt: isoFromDb(row.created_at),
  };
}

export function createCommissionService(deps: {
  db: Db;
  clock: Clock;
  anchors: Pick<AnchorServiceClient, 'getAnchor'>;
  defaultRateBp: number;
}) {
  const { db, clock } = deps;

  async function assertAnchor(anchorId: number): Promise<void> {
    if (!(await deps.anchors.getAnchor(anchorId))) throw AppError.notFound('ANCHOR_NOT_FOUND', `There is no anchor ${anchorId}.`);
  }

  return {
    /** The rate a reward made now is split with: the anchor's own in force, else the default. */
    async effectiveRate(anchorId: number): Promise<EffectiveRateDto> {
      const now = clock();
      const [own] = await ratesUntil(db, [anchorId], now);
      if (!own) return { anchorId, rateBp: deps.defaultRateBp, source: 'default', effectiveFrom: null };
      return { anchorId, rateBp: own.rate_bp, source: 'anchor', effectiveFrom: isoFromDb(own.effective_from) };
    },

    async history(anchorId: number, paging: { page: number; pageSize: number }): Promise<Page<CommissionRateFen>> {
      const { rows, total } = await rateHistory(db, anchorId, paging);
      return { items: rows.map(toContract), ...paging, total };
    },

    /** Every anchor's own rate in force now (anchors on the default are not listed). */
    async ratesInForce(paging: { page: number; pageSize: number }): Promise<Page<CommissionRateDto>> {
      const { rows, total } = await ratesInForce(db, clock(), paging);
      return { items: rows.map(toDto), ...paging, total };
    },

    /**
     * Withdraws a rate before it takes effect. One in force (or past) is history that settlements
     * were split with: 409 RATE_ALREADY_EFFECTIVE. The DELETE is conditional on the time, so a rate
     * cannot take effect between the check and the delete.
     */
    async deleteRate(anchorId: number, rateId: number): Promise<void> {
      if (await deleteFutureRate(db, anchorId, rateId, clock())) return;
      const row = await findRate(db, rateId);
      if (!row || row.anchor_id !== anchorId)
        throw AppError.notFound('RATE_NOT_FOUND', `Anchor ${anchorId} has no commission rate ${rateId}.`);
      throw AppError.conflict(
        'RATE_ALREADY_EFFECTIVE',
        `Rate ${rateId} has been in force since ${isoFromDb(row.effective_from)}: it is history now.`,
      );
    },

    assertAnchor,

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
      await assertAnchor(input.anchorId);
      const id = await insertRate(db, { anchorId: input.anchorId, rateBp: input.rate, effectiveFrom, now });
      const row = await findRate(db, id);
      if (!row) throw new Error(`commission rate ${id} vanished right after insert`);
      return toDto(row);
    },
  };
}

export type CommissionService = ReturnType<typeof createCommissionService>;
