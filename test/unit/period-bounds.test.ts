import { describe, expect, it } from '@jest/globals';
import { periodBounds } from '../../src/shared/time-zone';

const iso = (bounds: { from: Date | null; to: Date | null }) => [bounds.from?.toISOString() ?? null, bounds.to?.toISOString() ?? null];

describe('a calendar period as a half-open range', () => {
  // 2026-11-24T20:30Z is Wednesday 2026-11-25 04:30 in Shanghai (UTC+8).
  const now = new Date('2026-11-24T20:30:00Z');

  it('when the period is a day, week or month in Asia/Shanghai, then it ends where the next one starts', () => {
    expect(iso(periodBounds('day', now, 'Asia/Shanghai'))).toEqual(['2026-11-24T16:00:00.000Z', '2026-11-25T16:00:00.000Z']);
    expect(iso(periodBounds('week', now, 'Asia/Shanghai'))).toEqual(['2026-11-22T16:00:00.000Z', '2026-11-29T16:00:00.000Z']);
    expect(iso(periodBounds('month', now, 'Asia/Shanghai'))).toEqual(['2026-10-31T16:00:00.000Z', '2026-11-30T16:00:00.000Z']);
    expect(iso(periodBounds('all', now, 'Asia/Shanghai'))).toEqual([null, null]);
  });

  it('when the instant is local midnight itself, then it opens the new day (the end is exclusive)', () => {
    const midnight = new Date('2026-11-11T16:00:00.000Z');
    expect(iso(periodBounds('day', midnight, 'Asia/Shanghai'))).toEqual(['2026-11-11T16:00:00.000Z', '2026-11-12T16:00:00.000Z']);
    expect(iso(periodBounds('day', new Date(midnight.getTime() - 1), 'Asia/Shanghai'))).toEqual([
      '2026-11-10T16:00:00.000Z',
      '2026-11-11T16:00:00.000Z',
    ]);
  });

  it('when December is asked, then the month ends at the new year; a day of a DST change lasts 23 hours', () => {
    expect(iso(periodBounds('month', new Date('2026-12-15T00:00:00Z'), 'Asia/Shanghai'))).toEqual([
      '2026-11-30T16:00:00.000Z',
      '2026-12-31T16:00:00.000Z',
    ]);
    expect(iso(periodBounds('day', new Date('2026-03-08T12:00:00Z'), 'America/New_York'))).toEqual([
      '2026-03-08T05:00:00.000Z',
      '2026-03-09T04:00:00.000Z',
    ]);
  });
});
