import { tz } from '@date-fns/tz';
import { addDays, addHours, startOfDay, startOfHour } from 'date-fns';

export type BucketUnit = 'hour' | 'day';

/** Most buckets one trend answers: a year of days, or six weeks of hours. */
export const MAX_BUCKETS = 1008;

/**
 * The buckets covering `[from, to)` in the zone, as boundaries (UTC instants): the first is the start
 * of the hour or day (as the zone's clocks show it) holding `from`, each next one an hour or a
 * calendar day later — 23 or 25 hours on a day the clocks change — until one reaches `to`. Bucket i
 * is `[boundaries[i], boundaries[i + 1])`. Null when there would be more than MAX_BUCKETS.
 */
export function bucketBoundaries(from: Date, to: Date, unit: BucketUnit, timeZone: string): Date[] | null {
  const zone = tz(timeZone);
  const step = unit === 'hour' ? (d: Date) => addHours(d, 1, { in: zone }) : (d: Date) => addDays(d, 1, { in: zone });
  let at: Date = unit === 'hour' ? startOfHour(from, { in: zone }) : startOfDay(from, { in: zone });
  const boundaries: Date[] = [new Date(at.getTime())];
  while (at.getTime() < to.getTime()) {
    if (boundaries.length > MAX_BUCKETS) return null;
    at = step(at);
    boundaries.push(new Date(at.getTime()));
  }
  return boundaries;
}

/** The start of the day holding `instant` in the zone, and the start of the next one. */
export function dayAround(instant: Date, timeZone: string): { from: Date; to: Date } {
  const zone = tz(timeZone);
  const from = startOfDay(instant, { in: zone });
  return { from: new Date(from.getTime()), to: new Date(addDays(from, 1, { in: zone }).getTime()) };
}
