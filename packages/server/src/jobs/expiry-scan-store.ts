/** What the expiry scan reads (kysely-expiry-scan-store.ts). */
export interface ExpiringToken {
  id: string;
  accountId: string;
  createdAt: number;
  expiresAt: number;
}

export interface ExpiryScanStore {
  /**
   * Unrevoked tokens expiring in (`after`, `until`], by id, after `afterId` (a page of at most
   * `limit`; pass the last id to continue).
   */
  listTokensExpiringBetween(after: number, until: number, afterId: string | null, limit: number): Promise<ExpiringToken[]>;
}
