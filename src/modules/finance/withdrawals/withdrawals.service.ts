import { isDuplicateKey } from '../../../shared/db/failures';
import type { Db } from '../../../shared/db/knex';
import { retryOnConflict } from '../../../shared/db/retry';
import { isoFromDb } from '../../../shared/db/time';
import { AppError } from '../../../shared/http/app-error';
import type { Logger } from '../../../shared/logger';
import { formatFen } from '../../../shared/money';
import type { Clock } from '../../../shared/module';
import { calendarDay } from '../../../shared/time-zone';
import type { AnchorServiceClient } from '../../anchor/contract';
import { incomeSettledAfter, lockBalance, moveBalance, type LedgerEntryType } from '../balances/balances.repository';
import type { Page, WithdrawalDto } from '../contract';
import {
  findByRequest,
  findWithdrawal,
  insertWithdrawal,
  listWithdrawals,
  openCount,
  requestedBetween,
  transition,
  type WithdrawalFilter,
  type WithdrawalRow,
  type WithdrawalStatus,
} from './withdrawals.repository';

export interface WithdrawalSettings {
  /** Smallest amount one request may ask for, in fen. */
  minFen: number;
  /** Most requests an anchor may have PENDING or APPROVED at once; 0 = no limit. */
  maxOpen: number;
  /** Most an anchor may ask for per calendar day in `timeZone` (rejected and cancelled requests left out), in fen; 0 = no cap. */
  dailyCapFen: number;
  /** Settled income is withdrawable only this long after its settlement (ms); 0 = at once. */
  holdMs: number;
  timeZone: string;
}

function toDto(row: WithdrawalRow): WithdrawalDto {
  return {
    withdrawalId: row.id,
    anchorId: row.anchor_id,
    amountFen: Number(row.amount),
    status: row.status,
    requestId: row.request_id,
    createdAt: isoFromDb(row.created_at),
    updatedAt: isoFromDb(row.updated_at),
    reason: row.reject_reason,
  };
}

export function withdrawalNotFound(id: number): AppError {
  return AppError.notFound('WITHDRAWAL_NOT_FOUND', `There is no withdrawal ${id}.`);
}

function invalidState(row: WithdrawalRow | undefined, action: string): AppError {
  return AppError.conflict('INVALID_STATE', `A withdrawal that is ${row?.status ?? 'gone'} cannot be ${action}.`);
}

/** A transition and the money it moves between the parts of the balance (fen; signs as the ledger books them). */
interface Movement {
  action: string;
  from: readonly WithdrawalStatus[];
  to: WithdrawalStatus;
  entryType: LedgerEntryType | null;
  moves: (amount: number) => { availableDelta: number; frozenDelta: number; withdrawnDelta: number };
}

const APPROVE: Movement = {
  action: 'approved',
  from: ['PENDING'],
  to: 'APPROVED',
  entryType: null,
  moves: () => ({ availableDelta: 0, frozenDelta: 0, withdrawnDelta: 0 }),
};
const unfreeze = (amount: number) => ({ availableDelta: amount, frozenDelta: -amount, withdrawnDelta: 0 });
const REJECT: Movement = {
  action: 'rejected',
  from: ['PENDING', 'APPROVED'],
  to: 'REJECTED',
  entryType: 'WITHDRAWAL_REJECT',
  moves: unfreeze,
};
const CANCEL: Movement = { action: 'cancelled', from: ['PENDING'], to: 'CANCELLED', entryType: 'WITHDRAWAL_CANCEL', moves: unfreeze };
const PAY: Movement = {
  action: 'paid',
  from: ['APPROVED'],
  to: 'PAID',
  entryType: 'WITHDRAWAL_PAY',
  moves: (amount) => ({ availableDelta: 0, frozenDelta: -amount, withdrawnDelta: amount }),
};

/**
 * Withdrawals: an anchor asks for part of its available balance, which is frozen until an operator
 * rejects the request (or the anchor cancels it: back to available) or pays it (frozen → withdrawn).
 * Every change runs in one DB2 transaction that first locks the anchor's balance row, then moves the
 * request with a conditional UPDATE (of two racing callers exactly one wins) and books the money in
 * the ledger, whose UNIQUE (entry type, withdrawal) refuses a second booking of the same movement.
 */
export function createWithdrawalsService(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  anchors: Pick<AnchorServiceClient, 'getAnchor'>;
  settings: WithdrawalSettings;
}) {
  const { db, clock, settings } = deps;

  function replay(row: WithdrawalRow, amountFen: number): { withdrawal: WithdrawalDto; replayed: boolean } {
    if (Number(row.amount) !== amountFen)
      throw AppError.conflict(
        'IDEMPOTENCY_CONFLICT',
        `requestId ${row.request_id} was already used for a withdrawal of ${formatFen(Number(row.amount))}.`,
      );
    return { withdrawal: toDto(row), replayed: true };
  }

  /** The guards, checked with the balance row locked: nothing they count can change meanwhile. */
  async function assertAllowed(trx: Db, anchorId: number, amountFen: number, available: number, now: Date): Promise<void> {
    if (settings.maxOpen > 0 && (await openCount(trx, anchorId)) >= settings.maxOpen)
      throw AppError.conflict('TOO_MANY_OPEN_WITHDRAWALS', `At most ${settings.maxOpen} withdrawals may be open at once.`);
    if (settings.dailyCapFen > 0) {
      const day = calendarDay(now, settings.timeZone);
      const asked = await requestedBetween(trx, anchorId, day.start, day.end);
      if (asked + amountFen > settings.dailyCapFen)
        throw AppError.conflict(
          'DAILY_WITHDRAWAL_LIMIT',
          `At most ${formatFen(settings.dailyCapFen)} may be withdrawn per day; ${formatFen(asked)} was asked for on ${day.date} already.`,
        );
    }
    const pending = settings.holdMs > 0 ? await incomeSettledAfter(trx, anchorId, new Date(now.getTime() - settings.holdMs)) : 0;
    if (available - pending < amountFen)
      throw AppError.conflict(
        'INSUFFICIENT_BALANCE',
        available < 0
          ? `The available balance is ${formatFen(available)} (a refund took back settled income): no withdrawal until it recovers.`
          : pending > 0
            ? `The available balance is ${formatFen(available)}, of which ${formatFen(pending)} is income still on hold: ${formatFen(Math.max(0, available - pending))} may be withdrawn.`
            : `The available balance is ${formatFen(available)}, less than ${formatFen(amountFen)}.`,
      );
  }

  /** Moves one withdrawal as `movement` says, with the anchor's balance locked; `expectAnchor` limits it to that anchor's. */
  async function move(id: number, movement: Movement, options: { reviewer?: number; reason?: string; expectAnchor?: number } = {}) {
    const found = await findWithdrawal(db, id);
    if (!found || (options.expectAnchor !== undefined && found.anchor_id !== options.expectAnchor)) throw withdrawalNotFound(id);
    const row = await retryOnConflict(() =>
      db.transaction(async (trx) => {
        const now = clock();
        const balance = await lockBalance(trx, found.anchor_id);
        // A withdrawal exists only where a balance had the money to freeze.
        if (!balance) throw new Error(`withdrawal ${id} of anchor ${found.anchor_id} has no balance row`);
        const change: Parameters<typeof transition>[2] = { from: movement.from, to: movement.to, now };
        if (options.reviewer !== undefined) change.reviewer = options.reviewer;
        if (options.reason !== undefined) change.reason = options.reason;
        if (!(await transition(trx, id, change))) throw invalidState(await findWithdrawal(trx, id), movement.action);
        if (movement.entryType) {
          await moveBalance(trx, {
            balance,
            entryType: movement.entryType,
            ...movement.moves(Number(found.amount)),
            incomeDelta: 0,
            ref: { type: 'withdrawal', id },
            now,
          });
        }
        return findWithdrawal(trx, id);
      }),
    );
    if (!row) throw withdrawalNotFound(id);
    deps.logger.info(
      { withdrawalId: id, anchorId: row.anchor_id, amountFen: Number(row.amount), status: row.status },
      `withdrawal ${movement.action}`,
    );
    return toDto(row);
  }

  return {
    async apply(command: {
      anchorId: number;
      amountFen: number;
      requestId: string;
    }): Promise<{ withdrawal: WithdrawalDto; replayed: boolean }> {
      const { anchorId, amountFen, requestId } = command;
      const earlier = await findByRequest(db, anchorId, requestId);
      if (earlier) return replay(earlier, amountFen);
      if (amountFen < settings.minFen)
        throw AppError.conflict('WITHDRAWAL_BELOW_MINIMUM', `A withdrawal must be at least ${formatFen(settings.minFen)}.`);
      if (!(await deps.anchors.getAnchor(anchorId))) throw AppError.notFound('ANCHOR_NOT_FOUND', `There is no anchor ${anchorId}.`);
      try {
        return await retryOnConflict(() =>
          db.transaction(async (trx) => {
            const now = clock();
            const balance = await lockBalance(trx, anchorId);
            // The same request may have committed while this one waited for the lock.
            const raced = await findByRequest(trx, anchorId, requestId);
            if (raced) return replay(raced, amountFen);
            await assertAllowed(trx, anchorId, amountFen, balance?.available ?? 0, now);
            if (!balance) throw new Error(`anchor ${anchorId} passed the balance check without a balance`);
            const id = await insertWithdrawal(trx, { anchorId, requestId, amountFen, now });
            await moveBalance(trx, {
              balance,
              entryType: 'WITHDRAWAL_APPLY',
              availableDelta: -amountFen,
              frozenDelta: amountFen,
              incomeDelta: 0,
              withdrawnDelta: 0,
              ref: { type: 'withdrawal', id },
              now,
            });
            const row = await findWithdrawal(trx, id);
            if (!row) throw new Error(`withdrawal ${id} vanished right after insert`);
            deps.logger.info({ withdrawalId: id, anchorId, amountFen }, 'withdrawal applied for');
            return { withdrawal: toDto(row), replayed: false };
          }),
        );
      } catch (error) {
        // Without row locks (SQLite) two identical requests meet at the UNIQUE key instead.
        if (!isDuplicateKey(error)) throw error;
        const winner = await findByRequest(db, anchorId, requestId);
        if (!winner) throw error;
        return replay(winner, amountFen);
      }
    },

    async get(id: number): Promise<WithdrawalDto> {
      const row = await findWithdrawal(db, id);
      if (!row) throw withdrawalNotFound(id);
      return toDto(row);
    },

    async list(filter: WithdrawalFilter): Promise<Page<WithdrawalDto>> {
      const { rows, total } = await listWithdrawals(db, filter);
      return { items: rows.map(toDto), page: filter.page, pageSize: filter.pageSize, total };
    },

    approve: (id: number, reviewer: number) => move(id, APPROVE, { reviewer }),
    reject: (id: number, reason: string, reviewer: number) => move(id, REJECT, { reviewer, reason }),
    pay: (id: number, reviewer: number) => move(id, PAY, { reviewer }),
    /** The anchor's own PENDING request only. */
    cancel: (anchorId: number, id: number) => move(id, CANCEL, { expectAnchor: anchorId }),
  };
}

export type WithdrawalsService = ReturnType<typeof createWithdrawalsService>;
