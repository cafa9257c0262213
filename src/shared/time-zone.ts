/**
 * Calendar periods in a configured IANA time zone (days and months as people there see them,
 * weeks starting on Monday), returned as UTC instants.
 */

export type Period = 'day' | 'week' | 'month' | 'all';

interface WallTime {
  year: number;
  month: number;
  day: number;
  weekday: number; // 1 = Monday … 7 = Sunday
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

function wallTime(instant: Date, timeZone: string): WallTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    weekday: 'short',
  }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { year: Number(get('year')), month: Number(get('month')), day: Number(get('day')), weekday: WEEKDAYS[get('weekday')] ?? 1 };
}

/** Offset of the zone from UTC at an instant, in ms (Asia/Shanghai: +8 h). */
function offsetMs(instant: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/** The UTC instant at which local midnight of (year, month, day) happens in the zone. */
export function localMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const naive = Date.UTC(year, month - 1, day);
  let guess = naive - offsetMs(new Date(naive), timeZone);
  // A second pass settles days where the offset changes (daylight saving).
  guess = naive - offsetMs(new Date(guess), timeZone);
  return new Date(guess);
}

/** Start of the period containing `now`, or null for `all`. */
export function periodStart(period: Period, now: Date, timeZone: string): Date | null {
  if (period === 'all') return null;
  const local = wallTime(now, timeZone);
  if (period === 'day') return localMidnight(local.year, local.month, local.day, timeZone);
  if (period === 'month') return localMidnight(local.year, local.month, 1, timeZone);
  const monday = new Date(Date.UTC(local.year, local.month - 1, local.day - (local.weekday - 1)));
  return localMidnight(monday.getUTCFullYear(), monday.getUTCMonth() + 1, monday.getUTCDate(), timeZone);
}

/** A period as the half-open range `[from, to)` of UTC instants; both null for `all`. */
export interface PeriodBounds {
  from: Date | null;
  to: Date | null;
}

/** The period containing `now` as a half-open range `[from, to)`: `to` is the next period's start; both null for `all`. */
export function periodBounds(period: Period, now: Date, timeZone: string): PeriodBounds {
  const from = periodStart(period, now, timeZone);
  if (from === null) return { from: null, to: null };
  const start = wallTime(from, timeZone);
  const next =
    period === 'day'
      ? new Date(Date.UTC(start.year, start.month - 1, start.day + 1))
      : period === 'week'
        ? new Date(Date.UTC(start.year, start.month - 1, start.day + 7))
        : new Date(Date.UTC(start.year, start.month, 1));
  return { from, to: localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone) };
}

/** The calendar day containing `instant` in the zone: its date (`YYYY-MM-DD`) and its span `[start, end)` as UTC instants. */
export function calendarDay(instant: Date, timeZone: string): { date: string; start: Date; end: Date } {
  const { year, month, day } = wallTime(instant, timeZone);
  const date = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  return { date, start: localMidnight(year, month, day, timeZone), end: localMidnight(year, month, day + 1, timeZone) };
}

/** The calendar date (`YYYY-MM-DD`) that an instant falls on in the zone. */
export function localDateOf(instant: Date, timeZone: string): string {
  const { year, month, day } = wallTime(instant, timeZone);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
