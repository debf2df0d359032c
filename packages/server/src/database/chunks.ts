/**
 * Rows per multi-row statement (an insert's values, an `in (…)` list): far below every driver's
 * bound-parameter limit, so a report of 1,000 tokens is a couple of statements, not 1,000.
 */
export const STATEMENT_CHUNK = 500;

/** `items` in consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size = STATEMENT_CHUNK): T[][] {
  const slices: T[][] = [];
  for (let start = 0; start < items.length; start += size) slices.push(items.slice(start, start + size));
  return slices;
}
