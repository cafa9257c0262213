/** Splits a list into parts of at most `size` (SQL `IN (…)` lists, multi-row inserts, script arguments). */
export function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
