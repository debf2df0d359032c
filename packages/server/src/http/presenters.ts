/** Records → the wire shapes of the contract: camelCase already, timestamps as RFC 3339 UTC. */
import {
  maskToken,
  tokenStateAt,
  type AccountView,
  type NamespaceView,
  type NoticeView,
  type TokenView,
} from '@latchkey/contract';
import type { ReportedTokensNoticeDetail } from '../domain/credential-reports.js';
import type { AccountRecord, NamespaceRecord, NoticeRecord, TokenRecord } from '../store/store.js';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function presentAccount(account: AccountRecord): AccountView {
  return {
    id: account.id,
    email: account.email,
    name: account.name,
    isAdmin: account.isAdmin,
    createdAt: iso(account.createdAt),
  };
}

/** `now` is the database clock, so every instance reports the same state. */
export function presentToken(token: TokenRecord, now: number): TokenView {
  return {
    id: token.id,
    name: token.name,
    state: tokenStateAt(token, now),
    displayToken: maskToken(token.last4),
    last4: token.last4,
    createdAt: iso(token.createdAt),
    expiresAt: iso(token.expiresAt),
    lastUsedAt: isoOrNull(token.lastUsedAt),
    lastUsedIp: token.lastUsedIp,
    revokedAt: isoOrNull(token.revokedAt),
  };
}

export function presentNamespace(namespace: NamespaceRecord): NamespaceView {
  return { id: namespace.id, name: namespace.name, createdAt: iso(namespace.createdAt) };
}

export function presentNotice(notice: NoticeRecord): NoticeView {
  const { tokens } = notice.detail as unknown as ReportedTokensNoticeDetail;
  return { id: notice.id, kind: notice.kind, createdAt: iso(notice.createdAt), tokens };
}
