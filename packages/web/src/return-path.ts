/**
 * Where a signed-out visitor was going, kept across the one-time-link round trip (which may
 * open in another tab and always lands on `/`). Only a same-origin path, for 15 minutes.
 */
import { safeReturnPath } from '@latchkey/contract/return-path';

const KEY = 'latchkey.returnTo';
const VALID_MS = 15 * 60_000;

export function rememberReturnPath(path: string): void {
  try {
    if (path === '/') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, JSON.stringify({ path, at: Date.now() }));
  } catch {
    // Storage disabled: the user lands on the overview instead.
  }
}

/** The remembered path (once: it is forgotten on reading), if still fresh and safe. */
export function takeReturnPath(): string | undefined {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return undefined;
    localStorage.removeItem(KEY);
    const { path, at } = JSON.parse(raw) as { path?: unknown; at?: unknown };
    if (typeof path !== 'string' || typeof at !== 'number' || Date.now() - at > VALID_MS) return undefined;
    return safeReturnPath(path);
  } catch {
    return undefined;
  }
}
