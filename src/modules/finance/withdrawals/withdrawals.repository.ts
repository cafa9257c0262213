import { insertedId, type Db } from '../../../shared/db/knex';
import { toDbTime } from '../../../shared/db/time';

export const WITHDRAWAL_STATUSES = ['PENDING', 'APPROVED', 'REJECTED', 'PAID', 'CANCELLED'] as const;
export type WithdrawalStatus = (typeof WITHDRAWAL_STATUSES)[number];

/** A request still holding money frozen. */
export const OPEN_STATUSES: readonly WithdrawalStatus[] = ['PENDING', 'APPROVED'];

export interface WithdrawalRow {
  id: number;
  anchor_id: number;
  request_id: string;
  amount: number;
  status: WithdrawalStatus;
  reject_reason: string | null;
  reviewed_by: number | null;
  created_at: string;
  updated_at: string;
  reviewed_at: string | null;
  paid_at: string | null;
}

const COLUMNS = [
  'id',
  'anchor_id',
  'request_id',
  'amount',
  'status',
  'reject_reason',
  'reviewed_by',
  'created_at',
  'updated_at',
  'reviewed_at',
  'paid_at',
] as const;

export async function findWithdrawal(db: Db, id: number): Promise<WithdrawalRow | undefined> {
  return db<WithdrawalRow>('withdrawal')
    .select(...COLUMNS)
    .where({ id })
    .first();
}

export async function findByRequest(db: Db, anchorId: number, requestId: string): Promise<WithdrawalRow | undefined> {
  return db<WithdrawalRow>('withdrawal')
    .select(...COLUMNS)
    .where({ anchor_id: anchorId, request_id: requestId })
    .first();
}

export async function insertWithdrawal(
  trx: Db,
  args: { anchorId: number; requestId: string; amountFen: number; now: Date },
): Promise<number> {
  const at = toDbTime(args.now);
  return insertedId(
    await trx('withdrawal').insert({
      anchor_id: args.anchorId,
      request_id: args.requestId,
      amount: args.amountFen,
      status: 'PENDING',
      created_at: at,
      updated_at: at,
    }),
  );
}

/**
 * Moves a withdrawal from one of `from` to `to` in one conditional UPDATE: of two callers racing on
 * the same request, exactly one sees a changed row. Returns whether this call moved it.
 */
export async function transition(
  trx: Db,
  id: number,
  change: { from: readonly WithdrawalStatus[]; to: WithdrawalStatus; now: Date; reviewer?: number; reason?: string },
): Promise<boolean> {
  const at = toDbTime(change.now);
  const update: Record<string, unknown> = { status: change.to, updated_at: at };
  if (change.reviewer !== undefined) {
    update['reviewed_by'] = change.reviewer;
    update['reviewed_at'] = at;
  }
  if (change.reason !== undefined) update['reject_reason'] = change.reason;
  if (change.to === 'PAID') update['paid_at'] = at;
  const changed = await trx('withdrawal')
    .where({ id })
    .whereIn('status', [...change.from])
    .update(update);
  return changed === 1;
}

/** How many requests of the anchor still hold money frozen. */
export async function openCount(trx: Db, anchorId: number): Promise<number> {
  const row = await trx('withdrawal')
    .where({ anchor_id: anchorId })
    .whereIn('status', [...OPEN_STATUSES])
    .count({ n: '*' })
    .first();
  return Number(row?.['n'] ?? 0);
}

/** The amount the anchor asked for in [start, end), requests turned down or cancelled left out. */
export async function requestedBetween(trx: Db, anchorId: number, start: Date, end: Date): Promise<number> {
  const row = await trx('withdrawal')
    .where({ anchor_id: anchorId })
    .whereNotIn('status', ['REJECTED', 'CANCELLED'])
    .where('created_at', '>=', toDbTime(start))
    .where('created_at', '<', toDbTime(end))
    .sum({ s: 'amount' })
    .first();
  return Number(row?.['s'] ?? 0);
}

export interface WithdrawalFilter {
  anchorId?: number | undefined;
  status?: WithdrawalStatus | undefined;
  page: number;
  pageSize: number;
}

/** One page, newest first, and how many match. */
export async function listWithdrawals(db: Db, filter: WithdrawalFilter): Promise<{ rows: WithdrawalRow[]; total: number }> {
  const where = (query: ReturnType<Db>) => {
    if (filter.anchorId !== undefined) void query.where({ anchor_id: filter.anchorId });
    if (filter.status !== undefined) void query.where({ status: filter.status });
    return query;
  };
  const [rows, count] = await Promise.all([
    where(db('withdrawal'))
      .select(...COLUMNS)
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(filter.pageSize)
      .offset((filter.page - 1) * filter.pageSize) as Promise<WithdrawalRow[]>,
    where(db('withdrawal')).count({ n: '*' }).first(),
  ]);
  return { rows, total: Number(count?.['n'] ?? 0) };
}
