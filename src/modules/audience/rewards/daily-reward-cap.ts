import type { Db } from '../../../shared/db/knex';
import { AppError } from '../../../shared/http/app-error';
import { formatFen } from '../../../shared/money';
import { calendarDay } from '../../../shared/time-zone';
import {
  addToDailyTotals,
  findDailyTotals,
  lockDailyTotals,
  openDailyTotals,
  rewardSumsBetween,
  type DailyAmount,
} from './daily-reward.repository';
import type { NewRecharge } from './rewards.repository';

type CalendarDay = ReturnType<typeof calendarDay>;

export interface CapVerdict {
  /** The rewards that fit, in the order given. */
  admitted: NewRecharge[];
  /** By traceId: why each other reward was refused (409 DAILY_LIMIT_EXCEEDED). */
  refused: Map<string, AppError>;
}

export interface DailyRewardCap {
  /** Before the transaction, in statements of their own: makes sure every (viewer, day) of these rewards has its counter row. */
  prepare(db: Db, rewards: readonly NewRecharge[]): Promise<void>;
  /** Inside the transaction that stores the rewards: locks their counters, admits rewards in order while they fit, adds what it admitted. */
  admit(trx: Db, rewards: readonly NewRecharge[]): Promise<CapVerdict>;
}

/**
 * DAILY_REWARD_CAP: the most one viewer may reward in one calendar day of TIME_ZONE (the day of the
 * reward's `createdAt`).
 *
 * Exact whatever runs at once, on one instance or several: each (viewer, day) has a counter row,
 * and the transaction that stores a group of rewards locks the counter rows of its viewers' days,
 * admits rewards while they fit, adds what it admitted and commits together with the reward rows.
 * The counters and the rewards therefore never disagree: a batch rolled back takes its additions
 * with it, and a retried one judges again.
 *
 * A counter row is created before that transaction: created inside it, two transactions making the
 * same row would each hold a shared lock on it and deadlock as soon as both lock it for writing. It
 * opens with the viewer's rewards of that day already stored (sent while the cap was off), so a cap
 * turned on at noon counts the whole day. Rows are never deleted, so a counter a cap-on reward added
 * to exists before that reward commits, and no opening sum can count such a reward twice.
 */
export function createDailyRewardCap(options: { capFen: number; timeZone: string }): DailyRewardCap {
  const { capFen, timeZone } = options;
  // Formatting a date in a time zone is dear; nearly every reward falls in the day of the one before.
  let lastDay = calendarDay(new Date(0), timeZone);

  function dayOf(instant: Date): CalendarDay {
    if (instant < lastDay.start || instant >= lastDay.end) lastDay = calendarDay(instant, timeZone);
    return lastDay;
  }

  function overCap(reward: NewRecharge, day: string, total: number): AppError {
    return AppError.conflict(
      'DAILY_LIMIT_EXCEEDED',
      `Viewer ${reward.audienceId} has rewarded ${formatFen(total)} on ${day} (${timeZone}); ` +
        `${formatFen(reward.amountFen)} more would exceed the daily cap of ${formatFen(capFen)}. Nothing was stored.`,
    );
  }

  return {
    async prepare(db, rewards) {
      const viewersByDay = new Map<string, { span: CalendarDay; audienceIds: Set<number> }>();
      for (const reward of rewards) {
        const span = dayOf(reward.createdAt);
        const entry = viewersByDay.get(span.date) ?? { span, audienceIds: new Set<number>() };
        entry.audienceIds.add(reward.audienceId);
        viewersByDay.set(span.date, entry);
      }
      const existing = await findDailyTotals(db, [...new Set(rewards.map((r) => r.audienceId))], [...viewersByDay.keys()]);
      const known = new Set(existing.map((row) => `${row.audience_id}/${row.reward_day}`));
      for (const { span, audienceIds } of viewersByDay.values()) {
        const missing = [...audienceIds].filter((id) => !known.has(`${id}/${span.date}`));
        if (missing.length === 0) continue;
        const stored = await rewardSumsBetween(db, missing, span.start, span.end);
        await openDailyTotals(
          db,
          missing.map((audienceId) => ({ audienceId, day: span.date, amountFen: stored.get(audienceId) ?? 0 })),
        );
      }
    },

    async admit(trx, rewards) {
      const days = [...new Set(rewards.map((r) => dayOf(r.createdAt).date))];
      const locked = await lockDailyTotals(trx, [...new Set(rewards.map((r) => r.audienceId))], days);
      const totals = new Map(locked.map((row) => [`${row.audience_id}/${row.reward_day}`, Number(row.amount)]));
      const added = new Map<string, DailyAmount>();
      const verdict: CapVerdict = { admitted: [], refused: new Map() };
      for (const reward of rewards) {
        const day = dayOf(reward.createdAt).date;
        const key = `${reward.audienceId}/${day}`;
        const total = totals.get(key);
        if (total === undefined) throw new Error(`daily reward counter ${key} missing after prepare`);
        if (total + reward.amountFen > capFen) {
          verdict.refused.set(reward.traceId, overCap(reward, day, total));
          continue;
        }
        totals.set(key, total + reward.amountFen);
        const addition = added.get(key) ?? { audienceId: reward.audienceId, day, amountFen: 0 };
        addition.amountFen += reward.amountFen;
        added.set(key, addition);
        verdict.admitted.push(reward);
      }
      await addToDailyTotals(trx, [...added.values()]);
      return verdict;
    },
  };
}
