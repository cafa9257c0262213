import { localMidnight } from '../../../shared/time-zone';

/** Calendar dates as `YYYY-MM-DD`, walked on the proleptic Gregorian calendar (no time zone involved). */

const DAY_MS = 86_400_000;

function dateToUtcMs(date: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return Date.UTC(year, month - 1, day);
}

function utcMsToDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return utcMsToDate(dateToUtcMs(date) + days * DAY_MS);
}

/** Whole days from `from` to `to` (negative when `to` comes first). */
export function daysBetween(from: string, to: string): number {
  return Math.round((dateToUtcMs(to) - dateToUtcMs(from)) / DAY_MS);
}

/**
 * The days `[from, to)` and the instants at which each begins in the zone, plus the end of the
 * last: `boundaries` holds one more entry than `days`. A day is local midnight to local midnight,
 * so it lasts 23 or 25 hours on a daylight-saving change.
 */
export function localDays(from: string, to: string, timeZone: string): { days: string[]; boundaries: Date[] } {
  const days: string[] = [];
  for (let day = from; day < to; day = addDays(day, 1)) days.push(day);
  const boundaries = [...days, to].map((day) => {
    const [year, month, date] = day.split('-').map(Number) as [number, number, number];
    return localMidnight(year, month, date, timeZone);
  });
  return { days, boundaries };
}
