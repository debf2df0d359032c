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
