/**
 * Service accounts (docs/api.md, "Administration API"): non-human accounts an administrator
 * creates (name, description), holding tokens an administrator mints for them — shown once —
 * under the service policy (serviceMaxLifetimeDays; never an admin scope). They have no email
 * and never sign in (sessions/sign-in-service.ts refuses them). Deleting one deletes its tokens
 * with it, refused at once on every instance (the same store delete as any account).
 */
import {
  ADMIN_PAGE_LIMIT_DEFAULT,
  type AdminCreateServiceAccountRequest,
  type AdminCreateServiceTokenRequest,
  type AdminServiceAccountsQuery,
} from '@latchkey/contract';
import type { AccountStore } from '../accounts/account-store.js';
import { auditEvent, type Actor } from '../audit/audit-event.js';
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { isId, newId } from '../kernel/ids.js';
import type { TokenRecord } from '../tokens/token.js';
import type { TokenService } from '../tokens/token-service.js';
import type { TokenStore } from '../tokens/token-store.js';
import { decodePosition, encodeCursor, page, type Page } from './admin-service.js';
import type { ServiceAccountRecord, ServiceAccountStore } from './service-account-store.js';

export type { ServiceAccountRecord } from './service-account-store.js';

export interface ServiceAccountService {
  create(request: AdminCreateServiceAccountRequest, actor: Actor): Promise<ServiceAccountRecord>;
  list(query: AdminServiceAccountsQuery): Promise<Page<ServiceAccountRecord>>;
  /** Deletes the service account and its tokens; audited `service_account.deleted` with the tokens revoked. */
  delete(id: string, actor: Actor): Promise<void>;
  /** Mints a token for the service account (through TokenService.create, audited `token.created` with the administrator as actor). */
  createToken(id: string, request: AdminCreateServiceTokenRequest, actor: Actor): Promise<{ token: TokenRecord; secret: string }>;
}

export function createServiceAccountService(deps: {
  store: ServiceAccountStore;
  accountStore: AccountStore;
  tokenStore: TokenStore;
  tokens: TokenService;
  clock: Clock;
}): ServiceAccountService {
  const { store, accountStore, tokenStore, tokens, clock } = deps;
  const noSuchServiceAccount = () => new AppError('NOT_FOUND', 'No such service account.');

  async function find(id: string): Promise<ServiceAccountRecord> {
    const found = isId(id) ? await store.findServiceAccount(id, await tokenStore.now()) : undefined;
    if (!found) throw noSuchServiceAccount();
    return found;
  }

  return {
    async create(request, actor) {
      const now = clock.now();
      const id = newId();
      const name = request.name.trim().normalize('NFC');
      const description = request.description ? request.description.trim().normalize('NFC') || null : null;
      await store.insertServiceAccount(
        { id, name, description, createdAt: now, createdBy: actor.accountId },
        auditEvent(now, 'service_account.created', actor, id, { name, description }),
      );
      return find(id);
    },

    async list(query) {
      const limit = query.limit ?? ADMIN_PAGE_LIMIT_DEFAULT;
      const found = await store.listServiceAccounts({
        after: query.cursor === undefined ? undefined : decodePosition(query.cursor),
        limit: limit + 1,
        now: await tokenStore.now(),
      });
      return page(found, limit, (last) => encodeCursor([last.createdAt, last.id]));
    },

    async delete(id, actor) {
      const account = await find(id);
      const deleted = await accountStore.deleteAccount(
        id,
        auditEvent(clock.now(), 'service_account.deleted', actor, id, { name: account.name }),
      );
      if (!deleted) throw noSuchServiceAccount();
    },

    async createToken(id, request, actor) {
      await find(id);
      return tokens.create(id, request, actor, { service: true });
    },
  };
}
