import { describe, expect, it } from '@jest/globals';
import { calendarDay, localMidnight, periodStart } from '../../src/shared/time-zone';

describe('calendar periods in a time zone', () => {
  // 2026-11-24T20:30Z is Wednesday 2026-11-25 04:30 in Shanghai (UTC+8).
  const now = new Date('2026-11-24T20:30:00Z');

  it('when the period is a day, week or month in Asia/Shanghai, then it starts at local midnight as a UTC instant', () => {
    expect(periodStart('day', now, 'Asia/Shanghai')?.toISOString()).toBe('2026-11-24T16:00:00.000Z');
    expect(periodStart('week', now, 'Asia/Shanghai')?.toISOString()).toBe('2026-11-22T16:00:00.000Z');
    expect(periodStart('month', now, 'Asia/Shanghai')?.toISOString()).toBe('2026-10-31T16:00:00.000Z');
    expect(periodStart('all', now, 'Asia/Shanghai')).toBeNull();
  });

  it('when it is Monday or Sunday, then the week starts on that Monday / the Monday before', () => {
    expect(periodStart('week', new Date('2026-11-23T01:00:00Z'), 'UTC')?.toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(periodStart('week', new Date('2026-11-29T23:59:59Z'), 'UTC')?.toISOString()).toBe('2026-11-23T00:00:00.000Z');
  });

  it('when daylight saving starts that day, then midnight uses the offset in force at midnight', () => {
    expect(localMidnight(2026, 3, 8, 'America/New_York').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(localMidnight(2026, 3, 9, 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
  });

  it('when the month rolls over a year, then January starts in the new year', () => {
    expect(periodStart('month', new Date('2027-01-01T00:30:00Z'), 'Asia/Shanghai')?.toISOString()).toBe('2026-12-31T16:00:00.000Z');
  });
});

describe('calendarDay', () => {
  it('when an instant is on either side of midnight in Shanghai, then it falls in that local day, with its UTC span', () => {
    expect(calendarDay(new Date('2026-11-11T15:59:59.999Z'), 'Asia/Shanghai')).toEqual({
      date: '2026-11-11',
      start: new Date('2026-11-10T16:00:00.000Z'),
      end: new Date('2026-11-11T16:00:00.000Z'),
    });
    expect(calendarDay(new Date('2026-11-11T16:00:00.000Z'), 'Asia/Shanghai').date).toBe('2026-11-12');
  });

  it('when the day ends a month or a year, then the next day is the first of the next one', () => {
    expect(calendarDay(new Date('2026-12-31T12:00:00Z'), 'Asia/Shanghai')).toMatchObject({
      date: '2026-12-31',
      end: new Date('2026-12-31T16:00:00.000Z'),
    });
    expect(calendarDay(new Date('2027-01-01T00:00:00Z'), 'UTC').date).toBe('2027-01-01');
  });

  it('when daylight saving starts that day, then the day is 23 hours long', () => {
    const day = calendarDay(new Date('2026-03-08T12:00:00Z'), 'America/New_York');
    expect(day.date).toBe('2026-03-08');
    expect(day.end.getTime() - day.start.getTime()).toBe(23 * 3600 * 1000);
  });
});
