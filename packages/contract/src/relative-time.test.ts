import { describe, expect, it } from 'vitest';
import { relativeTime } from './relative-time.js';

const NOW = Date.parse('2026-05-01T12:00:00Z');
const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('relativeTime', () => {
  it('says "in less than an hour" for anything under an hour ahead, never "in 1 day"', () => {
    expect(relativeTime(NOW + 40 * SECOND, NOW)).toBe('in less than an hour');
    expect(relativeTime(NOW + 1, NOW)).toBe('in less than an hour');
    expect(relativeTime(NOW + HOUR - 1, NOW)).toBe('in less than an hour');
  });

  it('counts whole hours, rounded down, from one hour up to a day ahead', () => {
    expect(relativeTime(NOW + HOUR, NOW)).toBe('in 1 hour');
    expect(relativeTime(NOW + 2 * HOUR - 1, NOW)).toBe('in 1 hour');
    expect(relativeTime(NOW + 5 * HOUR + 30 * 60 * SECOND, NOW)).toBe('in 5 hours');
    expect(relativeTime(NOW + DAY - 1, NOW)).toBe('in 23 hours');
  });

  it('counts days ahead rounded up, so a token made for 7 days reads "in 7 days"', () => {
    expect(relativeTime(NOW + DAY, NOW)).toBe('in 1 day');
    expect(relativeTime(NOW + DAY + 1, NOW)).toBe('in 2 days');
    expect(relativeTime(NOW + 7 * DAY - SECOND, NOW)).toBe('in 7 days');
    expect(relativeTime(NOW + 180 * DAY, NOW)).toBe('in 180 days');
  });

  it('words the past the same way, days rounded down', () => {
    expect(relativeTime(NOW, NOW)).toBe('less than an hour ago');
    expect(relativeTime(NOW - 40 * SECOND, NOW)).toBe('less than an hour ago');
    expect(relativeTime(NOW - HOUR, NOW)).toBe('1 hour ago');
    expect(relativeTime(NOW - 3 * HOUR - 1, NOW)).toBe('3 hours ago');
    expect(relativeTime(NOW - DAY, NOW)).toBe('1 day ago');
    expect(relativeTime(NOW - 2 * DAY + 1, NOW)).toBe('1 day ago');
    expect(relativeTime(NOW - 30 * DAY, NOW)).toBe('30 days ago');
  });
});
