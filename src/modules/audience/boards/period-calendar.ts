import { periodBounds, type Period, type PeriodBounds } from '../../../shared/time-zone';

const EVER: PeriodBounds = { from: null, to: null };

/**
 * `periodBounds` remembering the last answer per period: the reward path asks for the same day,
 * week and month again and again, and each fresh answer costs a few Intl formatter calls.
 */
export function createPeriodCalendar(timeZone: string) {
  const last = new Map<Period, PeriodBounds>();
  return {
    bounds(period: Period, at: Date): PeriodBounds {
      if (period === 'all') return EVER;
      const known = last.get(period);
      if (known?.from && known.to && known.from <= at && at < known.to) return known;
      const bounds = periodBounds(period, at, timeZone);
      last.set(period, bounds);
      return bounds;
    },
  };
}

export type PeriodCalendar = ReturnType<typeof createPeriodCalendar>;
