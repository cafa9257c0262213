import type { Db } from '../../../shared/db/knex';
import { isDatabaseUnavailable, isDuplicateKey } from '../../../shared/db/failures';
import { retryOnConflict } from '../../../shared/db/retry';
import { failpoint } from '../../../shared/failpoints';
import { AppError } from '../../../shared/http/app-error';
import type { RewardTargetDto } from '../../anchor/contract';
import { createBoundedQueue } from './bounded-queue';
import type { DailyRewardCap } from './daily-reward-cap';
import type { RewardTargets } from './reward-targets';
import {
  addConsumption,
  findAudienceStates,
  findRechargesByTraceIds,
  insertRecharges,
  type AudienceState,
  type NewRecharge,
  type RechargeRow,
} from './rewards.repository';
import type { RewardInput } from './rewards.schemas';

/** `roomCheckAnswered`: the anchor module answered the room check (false: the room was judged as last seen). */
export type RewardOutcome =
  | { kind: 'created'; row: RechargeRow; roomCheckAnswered: boolean }
  | { kind: 'replayed'; row: RechargeRow }
  | { kind: 'rejected'; error: AppError };

interface Pending {
  input: RewardInput;
  receivedAt: Date;
  /** `performance.now()` when it was handed to the writer: how long it has waited for the anchor module's room check. */
  arrivedAt: number;
  resolve(outcome: RewardOutcome): void;
  reject(error: unknown): void;
}

/** Why a reward was answered 503 without a transaction of its own. */
export type ShedReason = 'queue_full' | 'queue_wait' | 'db_unavailable';

const SHED_DETAIL: Record<ShedReason, string> = {
  queue_full: 'Too many rewards are waiting for the database; try again shortly.',
  queue_wait: 'The reward waited too long for the database; try again shortly.',
  db_unavailable: 'The database is not answering; try again shortly.',
};

/** What operators see of the queue (metrics). */
export interface RewardQueueObserver {
  queueDepth(waiting: number): void;
  shed(reason: ShedReason, count: number): void;
  /** A reward's INSERT met the UNIQUE traceId: another transaction, here or on another instance, stored it first. */
  insertRaceLost(): void;
}

export interface RewardWriter {
  /** Stores the reward exactly once (or says why not); resolves after its transaction committed. */
  submit(input: RewardInput, receivedAt: Date): Promise<RewardOutcome>;
}

export interface RewardWriterOptions {
  db: Db;
  /** The anchor module's view of the rooms (with its fallback when the module does not answer). */
  rooms: RewardTargets;
  /** Largest number of rewards in one transaction. */
  maxBatch?: number;
  /** Transactions in flight at once; rewards arriving meanwhile wait and share the next one. Two measured best on 2 cores (npm run bench): bigger groups, fewer statements per reward. */
  maxInFlight?: number;
  /** Rewards waiting for a transaction at most (REWARD_QUEUE_MAX); one more is answered 503 at once. */
  maxQueued: number;
  /** A reward still waiting for a transaction after this long is answered 503. */
  maxQueueWaitMs: number;
  observer?: RewardQueueObserver;
  /** DAILY_REWARD_CAP; absent or null, no statement is spent on a cap. */
  dailyCap?: DailyRewardCap | null;
  /**
   * The first check of every reward, before idempotency (the viewer's rate limit): asked once per
   * group, alongside the group's reads, so it costs no round trip of its own. For each input, in
   * order, the error that refuses it, or null.
   */
  admit?: (inputs: readonly RewardInput[]) => Promise<ReadonlyArray<AppError | null>>;
  /** The same check when its answer is already known without a call (a viewer whose window is full): refused before joining a group. */
  refuseAtOnce?: (input: RewardInput) => AppError | null;
}

/** What one transaction stored, and the rewards the daily cap refused in it (by traceId). */
interface Committed {
  rows: RechargeRow[];
  refused: ReadonlyMap<string, AppError>;
}

const NOTHING_REFUSED: ReadonlyMap<string, AppError> = new Map();

function sameContent(row: RechargeRow, input: RewardInput): boolean {
  return row.audience_id === input.audienceId && row.live_room_id === input.liveRoomId && row.amount === input.amount;
}

function idempotencyConflict(traceId: string): AppError {
  return AppError.conflict('IDEMPOTENCY_CONFLICT', `traceId ${traceId} was already used for a different reward.`);
}

/** Replay (same content) or conflict (other content) for a trace id that is already stored. */
function answerForExisting(row: RechargeRow, input: RewardInput): RewardOutcome {
  return sameContent(row, input) ? { kind: 'replayed', row } : { kind: 'rejected', error: idempotencyConflict(input.traceId) };
}

/**
 * The checks after idempotency, in the order API.md gives: viewer, room, account state, room LIVE.
 * The daily cap (when on) comes last, inside the transaction that stores the reward.
 */
function judge(input: RewardInput, viewer: AudienceState | undefined, target: RewardTargetDto | undefined): AppError | null {
  if (!viewer) return AppError.notFound('AUDIENCE_NOT_FOUND', `There is no viewer ${input.audienceId}.`);
  if (!target) return AppError.notFound('LIVE_ROOM_NOT_FOUND', `There is no live room ${input.liveRoomId}.`);
  if (viewer.status !== 'ACTIVE') return new AppError('ACCOUNT_DISABLED', 403, 'The viewer account is disabled.');
  if (target.anchorStatus !== 'ACTIVE') return new AppError('ACCOUNT_DISABLED', 403, "The room's anchor account is disabled.");
  if (target.status !== 'LIVE') return AppError.conflict('LIVE_ROOM_NOT_LIVE', `Live room ${input.liveRoomId} is not live.`);
  return null;
}

/**
 * Group commit for rewards: requests that arrive while a transaction is in flight are written
 * together in the next one (one multi-row INSERT, one consumption UPDATE), and each request is
 * answered only after that commit. A batch that fails as a whole (a duplicate raced in from another
 * instance, say) is retried item by item, so one bad item never fails its neighbours — unless DB1
 * is unavailable, which every item would meet again.
 *
 * Bounds, so that a DB1 that hangs cannot stack rewards in memory: at most `maxQueued` wait (plus
 * `maxInFlight` batches of `maxBatch` in transactions), a reward is answered 503 rather than wait
 * longer than `maxQueueWaitMs`, and the first batch that fails because DB1 is unavailable takes every
 * waiting reward with it. A batch meeting a hung DB1 fails within one wait for a connection plus one
 * unanswered statement (DB_ACQUIRE_TIMEOUT_MS + DB_QUERY_TIMEOUT_MS) after the hang began or it
 * started, and the rewards behind it are answered then: so every reward is answered within that
 * time of arriving or of the hang beginning, whichever is later (a reward stored just before the
 * hang still waits for its anchor notification, ANCHOR_CALL_TIMEOUT_MS).
 */
export function createRewardWriter(options: RewardWriterOptions): RewardWriter {
  const { db, observer } = options;
  const maxBatch = options.maxBatch ?? 200;
  const maxInFlight = options.maxInFlight ?? 2;
  const queue = createBoundedQueue<Pending>({
    max: options.maxQueued,
    maxWaitMs: options.maxQueueWaitMs,
    onExpired: (expired) => shed(expired, 'queue_wait'),
    onLength: (waiting) => observer?.queueDepth(waiting),
  });
  let inFlight = 0;
  let pumpScheduled = false;

  function shed(rewards: Pending[], reason: ShedReason): void {
    if (rewards.length === 0) return;
    observer?.shed(reason, rewards.length);
    for (const pending of rewards) pending.reject(AppError.unavailable(SHED_DETAIL[reason]));
  }

  /** The rewards still waiting would meet the same database: answer them now, not one timeout later each. */
  function shedWaitingIfUnavailable(error: unknown): void {
    if (isDatabaseUnavailable(error)) shed(queue.drain(), 'db_unavailable');
  }

  function pump(): void {
    pumpScheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.take(maxBatch);
      inFlight += 1;
      processBatch(batch)
        .catch((error: unknown) => {
          batch.forEach((p) => p.reject(error));
          shedWaitingIfUnavailable(error);
        })
        .finally(() => {
          inFlight -= 1;
          pump();
        });
    }
  }

  function submit(input: RewardInput, receivedAt: Date): Promise<RewardOutcome> {
    const refused = options.refuseAtOnce?.(input);
    if (refused) return Promise.resolve({ kind: 'rejected', error: refused });
    return new Promise((resolve, reject) => {
      const pending = { input, receivedAt, arrivedAt: performance.now(), resolve, reject };
      if (!queue.offer(pending)) {
        shed([pending], 'queue_full');
        return;
      }
      // Start at the end of this turn of the event loop: every reward parsed in it joins one batch.
      if (!pumpScheduled) {
        pumpScheduled = true;
        setImmediate(pump);
      }
    });
  }

  async function processBatch(batch: Pending[]): Promise<void> {
    // Two requests with one trace id in the same batch: the first is judged, the others follow it.
    const leaders = new Map<string, Pending>();
    const followers: Pending[] = [];
    for (const pending of batch) {
      if (leaders.has(pending.input.traceId)) followers.push(pending);
      else leaders.set(pending.input.traceId, pending);
    }
    await settle([...leaders.values()]);
    for (const follower of followers)
      submit(follower.input, follower.receivedAt).then(
        (outcome) => follower.resolve(outcome),
        (error: unknown) => follower.reject(error),
      );
  }

  async function settle(group: Pending[]): Promise<void> {
    // One round trip for the admission and the three reads: replays are rare, so looking up their viewer and room too costs less than waiting.
    const [refusals, stored, viewers, rooms] = await Promise.all([
      options.admit ? options.admit(group.map((p) => p.input)) : [],
      findRechargesByTraceIds(
        db,
        group.map((p) => p.input.traceId),
      ),
      findAudienceStates(
        db,
        group.map((p) => p.input.audienceId),
      ),
      options.rooms.lookup([...new Set(group.map((p) => p.input.liveRoomId))], Math.min(...group.map((p) => p.arrivedAt))),
    ]);
    const items = group.filter((p, i) => {
      const refusal = refusals[i];
      if (refusal) p.resolve({ kind: 'rejected', error: refusal });
      return !refusal;
    });
    const existing = new Map(stored.map((row) => [row.trace_id, row]));
    const fresh = items.filter((p) => {
      const row = existing.get(p.input.traceId);
      if (row) p.resolve(answerForExisting(row, p.input));
      return !row;
    });
    if (fresh.length === 0) return;

    const viewerById = new Map(viewers.map((v) => [v.id, v]));
    const targetById = new Map(rooms.targets.map((t) => [t.liveRoomId, t]));
    const accepted: Array<{ pending: Pending; reward: NewRecharge }> = [];
    for (const pending of fresh) {
      if (rooms.unchecked.has(pending.input.liveRoomId)) {
        pending.reject(
          AppError.unavailable(
            'The live room could not be checked: the anchor module did not answer. Nothing was stored; retry with the same traceId.',
          ),
        );
        continue;
      }
      const target = targetById.get(pending.input.liveRoomId);
      const error = judge(pending.input, viewerById.get(pending.input.audienceId), target);
      if (error || !target) {
        pending.resolve({ kind: 'rejected', error: error ?? AppError.notFound('LIVE_ROOM_NOT_FOUND', 'No such live room.') });
        continue;
      }
      accepted.push({ pending, reward: toNewRecharge(pending, target) });
    }
    if (accepted.length === 0) return;

    let committed: Committed;
    try {
      committed = await commitRewards(accepted.map((a) => a.reward));
    } catch (error) {
      if (isDatabaseUnavailable(error) || (accepted.length === 1 && !isDuplicateKey(error))) throw error;
      await Promise.all(accepted.map((a) => settleAlone(a.pending, a.reward, rooms.answered)));
      return;
    }
    await answerCommitted(
      accepted.map((a) => a.pending),
      committed,
      rooms.answered,
    );
  }

  /** One transaction for these rewards, retried when chosen as a deadlock victim; with a daily cap it stores only those that fit. */
  async function commitRewards(rewards: NewRecharge[]): Promise<Committed> {
    const cap = options.dailyCap;
    if (!cap) return { rows: await retryOnConflict(() => db.transaction((trx) => writeRewards(trx, rewards))), refused: NOTHING_REFUSED };
    await cap.prepare(db, rewards);
    return retryOnConflict(() =>
      db.transaction(async (trx) => {
        const { admitted, refused } = await cap.admit(trx, rewards);
        return { rows: admitted.length > 0 ? await writeRewards(trx, admitted) : [], refused };
      }),
    );
  }

  /**
   * Answers the rewards of a committed transaction. Idempotency comes before the cap: a reward the
   * cap refused whose traceId another writer stored meanwhile is answered as that reward's replay.
   */
  async function answerCommitted(group: Pending[], committed: Committed, roomCheckAnswered: boolean): Promise<void> {
    const rowByTrace = new Map(committed.rows.map((row) => [row.trace_id, row]));
    const refused: Array<{ pending: Pending; error: AppError }> = [];
    for (const pending of group) {
      const row = rowByTrace.get(pending.input.traceId);
      const error = committed.refused.get(pending.input.traceId);
      if (row) pending.resolve({ kind: 'created', row, roomCheckAnswered });
      else if (error) refused.push({ pending, error });
      else pending.reject(new Error(`reward ${pending.input.traceId} missing after commit`));
    }
    if (refused.length === 0) return;
    const stored = await findRechargesByTraceIds(
      db,
      refused.map((r) => r.pending.input.traceId),
    );
    const storedByTrace = new Map(stored.map((row) => [row.trace_id, row]));
    for (const { pending, error } of refused) {
      const row = storedByTrace.get(pending.input.traceId);
      pending.resolve(row ? answerForExisting(row, pending.input) : { kind: 'rejected', error });
    }
  }

  /** One reward in its own transaction; a duplicate key means another writer stored it first. */
  async function settleAlone(pending: Pending, reward: NewRecharge, roomCheckAnswered: boolean): Promise<void> {
    try {
      await answerCommitted([pending], await commitRewards([reward]), roomCheckAnswered);
    } catch (error) {
      if (!isDuplicateKey(error)) {
        pending.reject(error);
        shedWaitingIfUnavailable(error);
        return;
      }
      observer?.insertRaceLost();
      const [row] = await findRechargesByTraceIds(db, [reward.traceId]);
      if (row) pending.resolve(answerForExisting(row, pending.input));
      else pending.reject(error);
    }
  }

  return { submit };
}

async function writeRewards(trx: Db, rewards: NewRecharge[]): Promise<RechargeRow[]> {
  const rows = await insertRecharges(trx, rewards);
  await failpoint('reward.afterInsert');
  await addConsumption(trx, rewards);
  await failpoint('reward.beforeCommit');
  return rows;
}

function toNewRecharge(pending: Pending, target: RewardTargetDto): NewRecharge {
  const { input } = pending;
  return {
    traceId: input.traceId,
    audienceId: input.audienceId,
    liveRoomId: input.liveRoomId,
    anchorId: target.anchorId,
    liveSessionId: target.currentSessionId,
    amountFen: input.amount,
    giftName: input.giftName ?? null,
    message: input.message ?? null,
    createdAt: pending.receivedAt,
  };
}
