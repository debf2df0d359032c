/**
 * Dates as people read them: a calendar date, or a date and time. "in N days" / "N days ago" is
 * `relativeTime` from `@latchkey/contract/relative-time`, the wording the CLI uses too.
 */
import { useEffect, useState } from 'react';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const formatDate = (iso: string | number) => dateFormat.format(new Date(iso));
export const formatDateTime = (iso: string | number) => dateTimeFormat.format(new Date(iso));

/**
 * The current time, refreshed every minute so states and "in N days" stay true on an open
 * page, and whenever `sample` changes (new data: its times are compared with a fresh now).
 */
export function useNow(sample?: unknown, intervalMs = 60_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [sample, intervalMs]);
  return now;
}

/** `YYYY-MM-DD` of a time, in the browser's time zone (what <input type="date"> speaks). */
export function toDateInputValue(time: number): string {
  const date = new Date(time);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * How long ago a moment was, as precisely as a person deciding whether something still uses a
 * token needs it: "just now", "3 minutes ago", "5 hours ago", then whole days ("2 days ago").
 */
export function timeAgo(time: number, now: number): string {
  const span = Math.max(0, now - time);
  if (span < MINUTE_MS) return 'just now';
  if (span < HOUR_MS) {
    const minutes = Math.floor(span / MINUTE_MS);
    return `${minutes} ${minutes === 1 ? 'minute' : 'minutes'} ago`;
  }
  if (span < 24 * HOUR_MS) {
    const hours = Math.floor(span / HOUR_MS);
    return `${hours} ${hours === 1 ? 'hour' : 'hours'} ago`;
  }
  const days = Math.floor(span / (24 * HOUR_MS));
  return `${days} ${days === 1 ? 'day' : 'days'} ago`;
}
