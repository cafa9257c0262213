/**
 * Money is integer fen inside the system and a two-decimal string outside it.
 * Commission rates are basis points inside (7000 = 70 %) and four-decimal strings outside.
 */

export const AMOUNT_PATTERN = /^(0|[1-9]\d{0,12})(\.\d{1,2})?$/;

/**
 * No single amount anywhere, a reward or a record another module sends, exceeds 10,000,000.00.
 * The ceiling keeps every running total (a room's earnings, an anchor's balance) exact as a number:
 * 2^53 fen is 9 million such amounts away, where the pattern alone would allow it in ten.
 */
export const MAX_AMOUNT_FEN = 1_000_000_000;
const RATE_PATTERN = /^(0(\.\d{1,4})?|1(\.0{1,4})?)$/;

/** Parses `"100.00"`, `"100"`, `100` or `100.5` to fen; null when it is not such an amount. */
export function parseAmountToFen(input: unknown): number | null {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (typeof input === 'number' && Number.isFinite(input)) text = String(input);
  else return null;
  const match = AMOUNT_PATTERN.exec(text);
  if (!match) return null;
  const whole = Number(match[1]);
  const cents = match[2] ? Number(match[2].slice(1).padEnd(2, '0')) : 0;
  return whole * 100 + cents;
}

export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not a whole number of fen: ${fen}`);
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export function parseRateToBasisPoints(input: unknown): number | null {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (typeof input === 'number' && Number.isFinite(input)) text = String(input);
  else return null;
  if (!RATE_PATTERN.test(text)) return null;
  const [whole = '0', fraction = ''] = text.split('.');
  return Number(whole) * 10000 + Number(fraction.padEnd(4, '0'));
}

export function formatBasisPoints(bp: number): string {
  return `${Math.trunc(bp / 10000)}.${String(bp % 10000).padStart(4, '0')}`;
}

/** Anchor share = floor(amount × rate), platform share = the rest: the parts always add up to the fen. */
export function splitByCommission(amountFen: number, rateBp: number): { anchorFen: number; platformFen: number } {
  if (!Number.isSafeInteger(amountFen) || amountFen < 0) throw new RangeError(`invalid amount ${amountFen}`);
  if (!Number.isInteger(rateBp) || rateBp < 0 || rateBp > 10000) throw new RangeError(`invalid rate ${rateBp}`);
  const anchorFen = Number((BigInt(amountFen) * BigInt(rateBp)) / 10000n);
  return { anchorFen, platformFen: amountFen - anchorFen };
}
