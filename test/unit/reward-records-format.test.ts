import { describe, expect, it } from '@jest/globals';
import { csvField, csvLine } from '../../src/modules/anchor/reward-records/reward-csv';
import { addDays, daysBetween, localDays } from '../../src/modules/anchor/reward-records/reward-days';

describe('CSV fields', () => {
  it.each([
    ['plain', 'RC-2026.01_02', 'RC-2026.01_02'],
    ['a comma', 'a,b', '"a,b"'],
    ['a quote', 'say "hi"', '"say ""hi"""'],
    ['a line break', 'one\ntwo', '"one\ntwo"'],
    ['a carriage return', 'one\rtwo', '"one\rtwo"'],
    ['a number', 42, '42'],
  ])('when a field holds %s, then it is written as RFC 4180 wants', (_name, value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it('when a record is written, then its columns follow the header and the amount has two decimals', () => {
    expect(
      csvLine({
        rechargeId: 7,
        traceId: 'T-1',
        audienceId: 3,
        liveRoomId: 5,
        anchorId: 9,
        amountFen: 100_005,
        status: 'SUCCESS',
        createdAt: '2026-01-02T03:04:05.006Z',
      }),
    ).toBe('7,T-1,2026-01-02T03:04:05.006Z,5,3,1000.05,SUCCESS\n');
  });
});

describe('local days', () => {
  it('when days are walked across a month and a leap day, then the calendar is followed', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2028-03-01', -1)).toBe('2028-02-29');
    expect(daysBetween('2025-01-01', '2026-01-01')).toBe(365);
  });

  it('when the zone is Asia/Shanghai, then each day starts at 16:00 UTC the day before and lasts 24 hours', () => {
    const { days, boundaries } = localDays('2026-03-01', '2026-03-03', 'Asia/Shanghai');
    expect(days).toEqual(['2026-03-01', '2026-03-02']);
    expect(boundaries.map((b) => b.toISOString())).toEqual([
      '2026-02-28T16:00:00.000Z',
      '2026-03-01T16:00:00.000Z',
      '2026-03-02T16:00:00.000Z',
    ]);
  });

  it('when New York changes its clocks, then the spring day lasts 23 hours and the autumn day 25', () => {
    const spring = localDays('2026-03-08', '2026-03-09', 'America/New_York').boundaries;
    const autumn = localDays('2026-11-01', '2026-11-02', 'America/New_York').boundaries;
    const hours = (b: Date[]) => ((b[1] as Date).getTime() - (b[0] as Date).getTime()) / 3_600_000;
    expect([hours(spring), hours(autumn)]).toEqual([23, 25]);
    expect(spring[0]?.toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(autumn[1]?.toISOString()).toBe('2026-11-02T05:00:00.000Z');
  });
});
