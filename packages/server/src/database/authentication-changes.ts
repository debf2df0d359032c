/**
 * Writes that can change an authentication decision — a revoke; an account disabled, enabled,
 * deleted or re-identified — are announced here once they have settled, so an in-process cache
 * of verified tokens (tokens/verified-token-cache.ts) drops what it holds: the exact
 * invalidation that lets a revoke be refused as soon as it returns.
 */
export type AuthenticationChange =
  /** A write that may change who a stored token or session authenticates as, or whether. */
  | 'changed'
  /** Raw SQL is about to run past the stores (tests, tools): nothing can be cached from now on. */
  | 'bypassed';

export class AuthenticationChanges {
  private readonly listeners = new Set<(change: AuthenticationChange) => void>();
  private bypassed = false;

  /** A listener that arrives after raw SQL was handed out hears of it at once. Returns the unsubscribe. */
  subscribe(listener: (change: AuthenticationChange) => void): () => void {
    this.listeners.add(listener);
    if (this.bypassed) listener('bypassed');
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs a write and announces it after it settles — committed or failed, since a failure (a
   * lost connection) may come after the commit.
   */
  async around<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.announce('changed');
    }
  }

  announce(change: AuthenticationChange): void {
    if (change === 'bypassed') this.bypassed = true;
    for (const listener of this.listeners) listener(change);
  }
}
