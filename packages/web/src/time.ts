/** Dates as people read them: a calendar date plus "in N days" / "N days ago". */
import { DAY_MS } from '@latchkey/contract';
import { useEffect, useState } from 'react';

const HOUR_MS = 3_600_000;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const formatDate = (iso: string | number) => dateFormat.format(new Date(iso));
export const formatDateTime = (iso: string | number) => dateTimeFormat.format(new Date(iso));

const plural = (count: number, unit: string) => `${count} ${unit}${count === 1 ? '' : 's'}`;

/** "in 3 days", "in 5 hours", "2 days ago": whole days rounded up into the future, down into the past. */
export function relativeTime(target: number, now: number): string {
  const delta = target - now;
  const span = Math.abs(delta);
  let amount: string;
  if (span >= DAY_MS) amount = plural(delta > 0 ? Math.ceil(span / DAY_MS) : Math.floor(span / DAY_MS), 'day');
  else if (span >= HOUR_MS) amount = plural(Math.floor(span / HOUR_MS), 'hour');
  else return delta > 0 ? 'in less than an hour' : 'less than an hour ago';
  return delta > 0 ? `in ${amount}` : `${amount} ago`;
}

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
