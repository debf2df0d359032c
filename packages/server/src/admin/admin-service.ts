/**
 * The administration API's rules (docs/api.md, "Administration API"; docs/security.md, items 49
 * and 50): every account, every token and the audit trail, for administrators. Who may call it
 * is decided by the authentication hook (`config.admin`); what is done here is audited with the
 * administrator as actor. Disabling, deleting and revoking go through the same store writes as
 * everywhere else, so what they refuse is refused on every instance when the call returns.
 *
 * An administrator cannot disable, delete or demote their own account (409): the last
 * administrator cannot lock everyone out by mistake, and another administrator can always do it.
 */
import {
  ADMIN_PAGE_LIMIT_DEFAULT,
  DAY_MS,
  EXPIRING_WINDOW_DAYS,
  type AdminAccountsQuery,
  type AdminAuditQuery,
  type AdminTokensQuery,
  type AdminUpdateAccountRequest,
} from '@latchkey/contract';
import type { TokenScope } from '@latchkey/contract/scopes';
import type { AccountChanges, AccountSummary } from '../accounts/account.js';
import type { AccountService } from '../accounts/account-service.js';
import type { AccountStore } from '../accounts/account-store.js';
import { auditEvent, type Actor, type AuditEventInput, type SequencedAuditEvent } from '../audit/audit-event.js';
import type { AuditStore } from '../audit/audit-store.js';
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { isId, newId } from '../kernel/ids.js';
import type { ChangedByAdminNoticeDetail, NoticeInput, RevokedByAdminNoticeDetail } from '../notices/notice.js';
import type { TokenWithOwner } from '../tokens/token.js';
import type { TokenStore } from '../tokens/token-store.js';

export interface Page<T> {
  items: T[];
  /** Where the next page starts (opaque), or null after the last. */
  nextCursor: string | null;
}

export interface AdminService {
  listAccounts(query: AdminAccountsQuery): Promise<Page<AccountSummary>>;
  getAccount(id: string): Promise<AccountSummary>;
  updateAccount(id: string, changes: AdminUpdateAccountRequest, actor: Actor): Promise<AccountSummary>;
  disableAccount(id: string, actor: Actor): Promise<void>;
  enableAccount(id: string, actor: Actor): Promise<void>;
  deleteAccount(id: string, actor: Actor): Promise<void>;
  listTokens(query: AdminTokensQuery): Promise<Page<TokenWithOwner> & { dbNow: number }>;
  /** Revokes any account's token, audited with the administrator as actor; the owner gets a notice. */
  revokeToken(id: string, actor: Actor): Promise<void>;
  listAudit(query: AdminAuditQuery): Promise<Page<SequencedAuditEvent>>;
  /**
   * Every event the filters match, newest first, read a page at a time (the NDJSON export). The
   * filters are checked when it is called (AppError), before anything is read.
   */
  exportAudit(query: AdminAuditQuery): AsyncIterable<SequencedAuditEvent>;
}

/** Rows read per query while streaming the audit export. */
const EXPORT_BATCH = 500;

export function createAdminService(deps: {
  accounts: AccountService;
  accountStore: AccountStore;
  tokenStore: TokenStore;
  auditStore: AuditStore;
  clock: Clock;
}): AdminService {
  const { accounts, accountStore, tokenStore, auditStore, clock } = deps;

  const noSuchAccount = () => new AppError('NOT_FOUND', 'No such account.');

  async function summary(id: string): Promise<AccountSummary> {
    const found = isId(id) ? await accountStore.findAccountSummary(id, await tokenStore.now()) : undefined;
    if (!found) throw noSuchAccount();
    return found;
  }

  function refuseSelf(id: string, actor: Actor, what: string): void {
    if (actor.accountId === id) {
      throw new AppError('CONFLICT', `Administrators cannot ${what} their own account; ask another administrator.`);
    }
  }

  function auditFilter(query: AdminAuditQuery) {
    return {
      actorAccountId: query.actor,
      tokenId: query.token,
      action: query.action,
      since: query.since === undefined ? undefined : Date.parse(query.since),
      until: query.until === undefined ? undefined : Date.parse(query.until),
    };
  }

  return {
    async listAccounts(query) {
      const limit = query.limit ?? ADMIN_PAGE_LIMIT_DEFAULT;
      const after = query.cursor === undefined ? undefined : decodePosition(query.cursor);
      const found = await accountStore.listAccounts({
        search: query.search || undefined,
        state: query.state ?? 'all',
        after,
        limit: limit + 1,
        now: await tokenStore.now(),
      });
      return page(found, limit, (last) => encodeCursor([last.createdAt, last.id]));
    },

    getAccount: summary,

    async updateAccount(id, request, actor) {
      const current = await summary(id);
      const changes: AccountChanges = {};
      const events: AuditEventInput[] = [];
      const details: ChangedByAdminNoticeDetail[] = [];
      const now = clock.now();
      if (request.isAdmin !== undefined && request.isAdmin !== current.isAdmin) {
        if (!request.isAdmin) refuseSelf(id, actor, 'remove administration from');
        // A service account never signs in and its tokens never hold admin scopes: an
        // administrator's role would mean nothing, or something unintended later.
        if (request.isAdmin && current.kind === 'service') {
          throw new AppError('CONFLICT', 'A service account cannot be an administrator.');
        }
        changes.isAdmin = request.isAdmin;
        events.push(auditEvent(now, request.isAdmin ? 'account.admin_granted' : 'account.admin_revoked', actor, id));
        details.push({ change: request.isAdmin ? 'admin_granted' : 'admin_revoked' });
      }
      if (request.name !== undefined) {
        const name = request.name === null ? null : request.name.trim().normalize('NFC') || null;
        if (name !== current.name) {
          changes.name = name;
          events.push(auditEvent(now, 'account.updated', actor, id, { name: { from: current.name, to: name } }));
          details.push({ change: 'renamed', name });
        }
      }
      // The owner is told, unless they cannot read it (a disabled account, a service account: no
      // console) or made the change themselves.
      const tell = current.disabledAt === null && canReadNotices(current) && actor.accountId !== id;
      const notices = tell ? details.map((detail) => changedNotice(id, now, detail)) : [];
      if (events.length > 0 && !(await accountStore.updateAccount(id, changes, events, notices))) throw noSuchAccount();
      return summary(id);
    },

    async disableAccount(id, actor) {
      if (!isId(id)) throw noSuchAccount();
      refuseSelf(id, actor, 'disable');
      await accounts.disable(id, actor);
    },

    async enableAccount(id, actor) {
      const current = await summary(id);
      const now = clock.now();
      // Through the store rather than accounts.enable: the owner's notice goes in the same
      // transaction, and only when the account was disabled until then (the store checks).
      const notice = canReadNotices(current) ? changedNotice(id, now, { change: 'enabled' }) : undefined;
      if (!(await accountStore.setAccountDisabled(id, null, auditEvent(now, 'account.enabled', actor, id), notice))) throw noSuchAccount();
    },

    async deleteAccount(id, actor) {
      if (!isId(id)) throw noSuchAccount();
      refuseSelf(id, actor, 'delete');
      await accounts.delete(id, actor);
    },

    async listTokens(query) {
      const limit = query.limit ?? ADMIN_PAGE_LIMIT_DEFAULT;
      // A malformed id is a mistake to name (a typo would otherwise read as "no tokens"); it never
      // reaches the database (a NUL byte would not even reach PostgreSQL).
      if (query.owner !== undefined && !isId(query.owner)) throw malformedIdFilter('owner', 'an account id');
      const { tokens, dbNow } = await tokenStore.listAllTokens({
        ownerId: query.owner,
        state: query.state ?? 'unrevoked',
        expiringWithinMs: query.expiringWithinDays === undefined ? undefined : query.expiringWithinDays * DAY_MS,
        unusedForMs: query.unusedForDays === undefined ? undefined : query.unusedForDays * DAY_MS,
        anyOfScopes: query.scope === undefined ? undefined : scopesGranting(query.scope),
        after: query.cursor === undefined ? undefined : decodePosition(query.cursor),
        limit: limit + 1,
        expiringWindowMs: EXPIRING_WINDOW_DAYS * DAY_MS,
      });
      return { ...page(tokens, limit, (last) => encodeCursor([last.token.createdAt, last.token.id])), dbNow };
    },

    async revokeToken(id, actor) {
      const token = isId(id) ? await tokenStore.findAnyToken(id) : undefined;
      if (!token || token.revokedAt !== null) throw new AppError('NOT_FOUND', 'No such token.');
      const now = clock.now();
      const detail: RevokedByAdminNoticeDetail = { token: { id: token.id, name: token.name, last4: token.last4, note: token.note } };
      const revoked = await tokenStore.revokeToken(
        token.accountId,
        token.id,
        now,
        auditEvent(now, 'token.revoked', actor, token.id, { name: token.name, owner: token.accountId, byAdministrator: true }),
        { id: newId(), accountId: token.accountId, kind: 'token_revoked_by_admin', createdAt: now, detail: { ...detail } },
      );
      if (!revoked) throw new AppError('NOT_FOUND', 'No such token.');
    },

    async listAudit(query) {
      const limit = query.limit ?? ADMIN_PAGE_LIMIT_DEFAULT;
      refuseMalformedIdFilters(query);
      const events = await auditStore.listAuditPage({
        ...auditFilter(query),
        beforeSeq: query.cursor === undefined ? undefined : decodeSeq(query.cursor),
        limit: limit + 1,
      });
      return page(events, limit, (last) => encodeCursor([last.seq]));
    },

    exportAudit(query) {
      // Checked at the call, not at the first read: a refusal is an R-422, not a broken stream.
      refuseMalformedIdFilters(query);
      const filter = auditFilter(query);
      const start = query.cursor === undefined ? undefined : decodeSeq(query.cursor);
      return (async function* () {
        let beforeSeq = start;
        for (;;) {
          const events = await auditStore.listAuditPage({ ...filter, beforeSeq, limit: EXPORT_BATCH });
          yield* events;
          const last = events.at(-1);
          if (events.length < EXPORT_BATCH || !last) return;
          beforeSeq = last.seq;
        }
      })();
    },
  };
}

/** Only a person signs in to the console, where notices are read. */
function canReadNotices(account: AccountSummary): boolean {
  return account.kind !== 'service';
}

function changedNotice(accountId: string, now: number, detail: ChangedByAdminNoticeDetail): NoticeInput {
  return { id: newId(), accountId, kind: 'account_changed_by_admin', createdAt: now, detail: { ...detail } };
}

/** An actor or token filter that is no id is refused (R-422 naming it) before the database is asked. */
function refuseMalformedIdFilters(query: AdminAuditQuery): void {
  if (query.actor !== undefined && !isId(query.actor)) throw malformedIdFilter('actor', 'an account id');
  if (query.token !== undefined && !isId(query.token)) throw malformedIdFilter('token', 'a token id');
}

function malformedIdFilter(parameter: string, what: string): AppError {
  return new AppError('VALIDATION_FAILED', 'The request has invalid fields.', {
    errors: [{ parameter, detail: `is not ${what} (a UUID such as 0b6e5a4c-8f1d-4c2a-9e3b-7d5f1a2c4e6b)` }],
  });
}

/** The scopes that grant `scope`: itself, and the write scope that includes a read scope. */
function scopesGranting(scope: TokenScope): TokenScope[] {
  return scope.endsWith(':read') ? [scope, scope.replace(/:read$/, ':write') as TokenScope] : [scope];
}

/** `limit + 1` rows were asked for: the extra one only says a next page exists. */
export function page<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

export function encodeCursor(parts: Array<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function badCursor(): AppError {
  return new AppError('VALIDATION_FAILED', 'The request has invalid fields.', {
    errors: [{ parameter: 'cursor', detail: 'is not a cursor this server issued' }],
  });
}

function decodeCursor(cursor: string): unknown[] {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parts)) throw badCursor();
    return parts;
  } catch {
    throw badCursor();
  }
}

export function decodePosition(cursor: string): { createdAt: number; id: string } {
  const [createdAt, id, ...rest] = decodeCursor(cursor);
  if (typeof createdAt !== 'number' || !Number.isSafeInteger(createdAt) || typeof id !== 'string' || !isId(id) || rest.length > 0) {
    throw badCursor();
  }
  return { createdAt, id };
}

function decodeSeq(cursor: string): number {
  const [seq, ...rest] = decodeCursor(cursor);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || rest.length > 0) throw badCursor();
  return seq;
}
