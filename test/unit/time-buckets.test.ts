import { describe, expect, it } from '@jest/globals';
import { bucketBoundaries, MAX_BUCKETS } from '../../src/modules/analytics/reports/time-buckets';

const iso = (dates: Date[] | null) => dates?.map((d) => d.toISOString()) ?? null;

describe('trend buckets in a time zone', () => {
  it('when days are asked in Asia/Shanghai, then each starts at local midnight, 16:00 UTC the day before', () => {
    expect(iso(bucketBoundaries(new Date('2036-03-04T18:00:00Z'), new Date('2036-03-06T16:00:00Z'), 'day', 'Asia/Shanghai'))).toEqual([
      '2036-03-04T16:00:00.000Z',
      '2036-03-05T16:00:00.000Z',
      '2036-03-06T16:00:00.000Z',
    ]);
  });

  it('when a range ends inside a bucket, then that bucket is there whole', () => {
    expect(iso(bucketBoundaries(new Date('2036-03-05T01:30:00Z'), new Date('2036-03-05T03:00:01Z'), 'hour', 'Asia/Shanghai'))).toEqual([
      '2036-03-05T01:00:00.000Z',
      '2036-03-05T02:00:00.000Z',
      '2036-03-05T03:00:00.000Z',
      '2036-03-05T04:00:00.000Z',
    ]);
  });

  it('when the clocks spring forward or fall back in New York, then that day is 23 or 25 hours long and has 23 or 25 hour buckets', () => {
    // 2036: daylight saving starts Sunday 9 March, ends Sunday 2 November.
    const spring = bucketBoundaries(new Date('2036-03-09T05:00:00Z'), new Date('2036-03-10T04:00:00Z'), 'day', 'America/New_York');
    expect(iso(spring)).toEqual(['2036-03-09T05:00:00.000Z', '2036-03-10T04:00:00.000Z']);
    const fall = bucketBoundaries(new Date('2036-11-02T04:00:00Z'), new Date('2036-11-03T05:00:00Z'), 'day', 'America/New_York');
    expect(iso(fall)).toEqual(['2036-11-02T04:00:00.000Z', '2036-11-03T05:00:00.000Z']);
    expect(bucketBoundaries(new Date('2036-03-09T05:00:00Z'), new Date('2036-03-10T04:00:00Z'), 'hour', 'America/New_York')).toHaveLength(
      24,
    );
    expect(bucketBoundaries(new Date('2036-11-02T04:00:00Z'), new Date('2036-11-03T05:00:00Z'), 'hour', 'America/New_York')).toHaveLength(
      26,
    );
  });

  it('when a range would hold more than the most buckets, then there are none', () => {
    const from = new Date('2036-01-01T00:00:00Z');
    expect(bucketBoundaries(from, new Date(from.getTime() + MAX_BUCKETS * 3_600_000), 'hour', 'UTC')).toHaveLength(MAX_BUCKETS + 1);
    expect(bucketBoundaries(from, new Date(from.getTime() + (MAX_BUCKETS + 1) * 3_600_000), 'hour', 'UTC')).toBeNull();
  });
});
