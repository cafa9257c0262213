import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatBasisPoints, formatFen, parseAmountToFen, parseRateToBasisPoints, splitByCommission } from '../../src/shared/money';

/** The largest amount the API accepts: 13 whole digits and two decimals. */
const MAX_AMOUNT_FEN = 9_999_999_999_999_99;

describe('parseAmountToFen', () => {
  it.each<[unknown, number]>([
    ['100.00', 10000],
    ['100', 10000],
    ['100.5', 10050],
    [100, 10000],
    [100.5, 10050],
    ['0.01', 1],
    ['0', 0],
    [19.99, 1999],
    ['9999999999999.99', MAX_AMOUNT_FEN],
  ])('when the input is %j, then it is %d fen', (input, fen) => {
    expect(parseAmountToFen(input)).toBe(fen);
  });

  it.each<[string, unknown]>([
    ['negative number', -1],
    ['negative string', '-1'],
    ['exponent notation', '1e2'],
    ['missing whole part', '.5'],
    ['leading zero', '01.00'],
    ['letters', 'abc'],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['three decimals as string', '1.001'],
    ['three decimals as number', 0.001],
    ['float noise', 0.1 + 0.2],
    ['number too large for the pattern', 1e21],
    ['14 whole digits', '10000000000000'],
    ['surrounding spaces', ' 1.00 '],
    ['trailing dot', '1.'],
    ['empty string', ''],
    ['null', null],
    ['undefined', undefined],
    ['object', { amount: '1.00' }],
    ['array', ['1.00']],
    ['boolean', true],
    ['bigint', 100n],
  ])('when the input is a %s (%p), then it is rejected with null', (_label, input) => {
    expect(parseAmountToFen(input)).toBeNull();
  });
});

describe('formatFen', () => {
  it.each<[number, string]>([
    [0, '0.00'],
    [1, '0.01'],
    [10, '0.10'],
    [100, '1.00'],
    [10050, '100.50'],
    [MAX_AMOUNT_FEN, '9999999999999.99'],
    [-1, '-0.01'],
    [-10050, '-100.50'],
    [-100, '-1.00'],
  ])('when the amount is %d fen, then it reads %s', (fen, text) => {
    expect(formatFen(fen)).toBe(text);
  });

  it.each([1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 2])(
    'when the amount is %p (not a safe whole number), then it throws RangeError',
    (fen) => {
      expect(() => formatFen(fen)).toThrow(RangeError);
    },
  );
});

describe('commission rates', () => {
  it.each<[unknown, number | null]>([
    ['0.7000', 7000],
    ['0.7', 7000],
    ['1', 10000],
    ['1.0000', 10000],
    ['0', 0],
    ['0.0001', 1],
    [0.5, 5000],
    ['1.5', null],
    ['0.12345', null],
    ['1.0001', null],
    ['.5', null],
    ['-0.5', null],
    [null, null],
    [NaN, null],
  ])('when the rate is %j, then it is %p basis points', (input, bp) => {
    expect(parseRateToBasisPoints(input)).toBe(bp);
  });

  it.each<[number, string]>([
    [0, '0.0000'],
    [1, '0.0001'],
    [7000, '0.7000'],
    [10000, '1.0000'],
  ])('when %d basis points are formatted, then they read %s', (bp, text) => {
    expect(formatBasisPoints(bp)).toBe(text);
  });

  it('when any rate from 0 to 10000 bp is formatted and parsed back, then it is unchanged', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10000 }), (bp) => parseRateToBasisPoints(formatBasisPoints(bp)) === bp));
  });
});

describe('splitByCommission', () => {
  it('when 100.00 is split at 0.7000, then the anchor gets 70.00 and the platform 30.00', () => {
    expect(splitByCommission(10000, 7000)).toEqual({ anchorFen: 7000, platformFen: 3000 });
  });

  it('when 0.01 is split at 0.5000, then the anchor share rounds down to 0 and the platform keeps the fen', () => {
    expect(splitByCommission(1, 5000)).toEqual({ anchorFen: 0, platformFen: 1 });
  });

  it('when any amount up to 10^15 fen is split at any rate, then the shares add up and the anchor share is floor(amount × rate / 10000)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 10000 }), (amount, rateBp) => {
        const { anchorFen, platformFen } = splitByCommission(Number(amount), rateBp);
        expect(anchorFen + platformFen).toBe(Number(amount));
        expect(anchorFen).toBeGreaterThanOrEqual(0);
        expect(anchorFen).toBeLessThanOrEqual(Number(amount));
        expect(platformFen).toBeGreaterThanOrEqual(0);
        expect(BigInt(anchorFen)).toBe((amount * BigInt(rateBp)) / 10000n);
      }),
      {
        numRuns: 2000,
        examples: [
          [10n ** 15n, 10000],
          [10n ** 15n, 9999],
          [10n ** 15n - 1n, 3333],
          [0n, 0],
        ],
      },
    );
  });

  it.each<[number, number]>([
    [-1, 5000],
    [1.5, 5000],
    [100, -1],
    [100, 10001],
    [100, 0.5],
  ])('when the amount is %p fen and the rate %p bp, then it throws RangeError', (amount, rate) => {
    expect(() => splitByCommission(amount, rate)).toThrow(RangeError);
  });
});

describe('amount round trip', () => {
  it('when any amount from 0 to 9999999999999.99 is formatted and parsed back, then it is the same number of fen', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_AMOUNT_FEN }), (fen) => {
        expect(parseAmountToFen(formatFen(fen))).toBe(fen);
      }),
      { numRuns: 2000, examples: [[0], [1], [99], [100], [MAX_AMOUNT_FEN]] },
    );
  });
});
