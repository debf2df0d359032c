/**
 * What a token's use leaves behind (docs/security.md, item 24): its last use and address, written
 * at most once a minute per token; each distinct address it is used from, once a minute per
 * (token, address) pair; and for an old secret in its rotation grace window, every use counted.
 * Writes run in the background and never fail the request; concurrent uses of one token share
 * the write in flight.
 */
import type { Clock } from '../kernel/clock.js';
import { LruMap } from '../kernel/lru-map.js';
import type { TokenStore } from './token-store.js';
import type { TokenAndOwner } from './token.js';

/** `last_used_at` is written at most this often per token (docs/security.md, item 24). */
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export interface TokenUseRecorder {
  /** A verified use of `found` from `clientIp`: the bookkeeping it calls for, in the background. */
  record(found: TokenAndOwner, clientIp: string | null): void;
}

export function createTokenUseRecorder(deps: {
  store: Pick<TokenStore, 'touchTokenLastUsed' | 'recordRotatedTokenUses' | 'recordTokenAddress'>;
  clock: Clock;
  /** Told about a failed write; such a failure never fails the request. */
  onBackgroundError?: (error: unknown) => void;
}): TokenUseRecorder {
  const { store, clock, onBackgroundError } = deps;
  /** Tokens whose last-used write is in flight: concurrent requests skip theirs. */
  const touching = new Set<string>();
  /** Uses of replaced tokens' secrets not written yet, per token: coalesced while a write is in flight. */
  const rotatedUses = new Map<string, { uses: number; at: number; ip: string | null }>();
  /** When this instance last recorded each (token, address) pair: recorded at most once a minute. */
  const addressesRecorded = new LruMap<string, number>(10_000);

  function touchLastUsed(found: TokenAndOwner, clientIp: string | null): void {
    const now = clock.now();
    const recent = found.lastUsedAt !== null && now - found.lastUsedAt < LAST_USED_WRITE_INTERVAL_MS;
    // The usual request: used from the same address within the minute, nothing to write.
    if (recent && found.lastUsedIp === clientIp) return;
    if (clientIp !== null) recordAddress(found.id, clientIp, now);
    if (recent) return;
    if (touching.has(found.id)) return;
    touching.add(found.id);
    store
      .touchTokenLastUsed(found.id, now, clientIp, LAST_USED_WRITE_INTERVAL_MS)
      .catch((error: unknown) => onBackgroundError?.(error))
      .finally(() => touching.delete(found.id));
  }

  /**
   * A replaced token's use during its grace window: every use counts ("used N times since
   * rotation"), so these are not limited to one write a minute; uses arriving while a write is in
   * flight are added up and written by the next one, so a busy old secret costs one write per
   * round trip, not per request. Only tokens in their grace window take this path.
   */
  function countRotatedUse(found: TokenAndOwner, clientIp: string | null): void {
    const now = clock.now();
    const pending = rotatedUses.get(found.id);
    rotatedUses.set(found.id, { uses: (pending?.uses ?? 0) + 1, at: now, ip: clientIp });
    if (clientIp !== null) recordAddress(found.id, clientIp, now);
    writeRotatedUses(found.id);
  }

  function writeRotatedUses(tokenId: string): void {
    const pending = rotatedUses.get(tokenId);
    if (!pending || touching.has(tokenId)) return;
    rotatedUses.delete(tokenId);
    touching.add(tokenId);
    store
      .recordRotatedTokenUses(tokenId, pending.uses, pending.at, pending.ip)
      .catch((error: unknown) => onBackgroundError?.(error))
      .finally(() => {
        touching.delete(tokenId);
        writeRotatedUses(tokenId);
      });
  }

  function recordAddress(tokenId: string, ip: string, now: number): void {
    const key = `${tokenId} ${ip}`;
    const recordedAt = addressesRecorded.peek(key);
    if (recordedAt !== undefined && now - recordedAt < LAST_USED_WRITE_INTERVAL_MS) return;
    addressesRecorded.touch(key, now);
    store.recordTokenAddress(tokenId, ip, now).catch((error: unknown) => onBackgroundError?.(error));
  }

  return {
    record(found, clientIp) {
      if (found.replacedBy) countRotatedUse(found, clientIp);
      else touchLastUsed(found, clientIp);
    },
  };
}
