import type { Clock } from '../../src/shared/module';

/**
 * Wednesday 11 November 2026, 12:00 in Asia/Shanghai (the default TIME_ZONE): twelve hours from
 * either midnight, mid-week and mid-month. Tests whose answers depend on the calendar (a TOP10 by
 * day, week or month) start their platform's clock here, so a run that crosses a real midnight
 * answers the same as any other.
 */
export const CALENDAR_NOON = new Date('2026-11-11T04:00:00.000Z');

export interface TestClock extends Clock {
  /** From now on the clock reads `instant`, standing still. */
  stopAt(instant: Date): void;
}

/** A clock that runs at real speed from `start` (so rewards keep their order) until stopped. */
export function testClock(start: Date = CALENDAR_NOON): TestClock {
  const offset = start.getTime() - Date.now();
  let now = () => Date.now() + offset;
  return Object.assign(() => new Date(now()), {
    stopAt(instant: Date) {
      const fixed = instant.getTime();
      now = () => fixed;
    },
  });
}
