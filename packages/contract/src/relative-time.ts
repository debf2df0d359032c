/**
 * How far a moment is from now, in the words the console and the CLI both use ("in 3 days",
 * "in 5 hours", "in less than an hour", "2 days ago"), so a token's expiry reads the same
 * everywhere. No zod, no Node APIs: the console and the CLI's start-up path can import it
 * (`@latchkey/contract/relative-time`).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const plural = (count: number, unit: string) => `${count} ${unit}${count === 1 ? '' : 's'}`;

/**
 * `target` relative to `now` (both epoch ms). Whole days are rounded up into the future (a token
 * made for 7 days reads "in 7 days" a moment later) and down into the past; under a day, whole
 * hours are rounded down; under an hour it says so rather than rounding to "in 1 day" or "0 hours".
 */
export function relativeTime(target: number, now: number): string {
  const delta = target - now;
  const span = Math.abs(delta);
  let amount: string;
  if (span >= DAY_MS) amount = plural(delta > 0 ? Math.ceil(span / DAY_MS) : Math.floor(span / DAY_MS), 'day');
  else if (span >= HOUR_MS) amount = plural(Math.floor(span / HOUR_MS), 'hour');
  else return delta > 0 ? 'in less than an hour' : 'less than an hour ago';
  return delta > 0 ? `in ${amount}` : `${amount} ago`;
}
