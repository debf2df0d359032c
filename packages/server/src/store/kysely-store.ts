/**
 * The one Store implementation, on Kysely, for SQLite and PostgreSQL alike. Dialect
 * differences stay inside this file and `migrations.ts`: the database clock expression,
 * row locking, and how drivers report conflicts and outages.
 */
import { Kysely, Migrator, sql, type CompiledQuery, type InferResult, type RawBuilder, type Transaction } from 'kysely';
import { createMigrationProvider } from './migrations.js';
import type { VerifiedTokenCache } from './verified-token-cache.js';
import type { AccountsTable, Database, TokensTable } from './schema.js';
import {
  StoreConflictError,
  StoreUnavailableError,
  type AccountRecord,
  type AuditEventInput,
  type AuthFailureRecord,
  type AuthFailureRules,
  type AuditEventRecord,
  type CliGrantRecord,
  type Dialect,
  type LoginFlowRecord,
  type NoticeInput,
  type NoticeRecord,
  type OidcIdentity,
  type NamespaceRecord,
  type SessionForAuth,
  type SessionRecord,
  type Store,
  type TokenAndClientForAuth,
  type TokenForAuth,
  type TokenListFilter,
  type TokenRecord,
} from './store.js';

/**
 * Runs the one statement every authenticated request makes (the token lookup) straight on the
 * driver, past Kysely's executor: its connection mutex and promise chain cost more than the
 * indexed lookup itself. Given the compiled SQL text and its parameters; returns the first row.
 */
export type HotQueryRunner = (sql: string, parameters: readonly unknown[]) => unknown | Promise<unknown>;

/** What makes the token lookup fast; each part is optional and changes no result. */
export interface HotPath {
  runHotQuery?: HotQueryRunner;
  /** SQLite only: see verified-token-cache.ts for why it stays exact. */
  tokenCache?: VerifiedTokenCache;
}

/**
 * The Kysely handle behind a store, for tests and tooling that need raw SQL; the app never
 * does. Raw writes would bypass the token cache's invalidation, so the cache is turned off.
 */
export function kyselyOf(store: Store): Kysely<Database> {
  if (!(store instanceof KyselyStore)) throw new Error('not a KyselyStore');
  store.disableTokenCache();
  return store.db;
}

export class KyselyStore implements Store {
  /** The database clock in epoch milliseconds, as a SQL expression. */
  private readonly dbNow: RawBuilder<number>;
  private readonly tokenForAuthQuery: CompiledQuery<TokenForAuthRow>;
  private readonly tokenAndClientForAuthQuery: CompiledQuery<TokenAndClientForAuthRow>;
  private readonly sessionForAuthQuery: CompiledQuery<SessionForAuthRow>;
  private readonly tokenInserts = new BatchQueue<PendingTokenInsert>((batch) => this.commitTokenInserts(batch));
  /** Lapsed failure records are pruned on every this-many-th recorded failure. */
  private static readonly PRUNE_EVERY = 64;
  private failuresRecorded = 0;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly hotPath: HotPath = {},
  ) {
    this.dbNow =
      dialect === 'postgres'
        ? sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`
        : sql<number>`cast(unixepoch('subsec') * 1000 as integer)`;
    this.tokenForAuthQuery = tokenForAuthQuery(db, this.dbNow).compile();
    if (this.tokenForAuthQuery.parameters.length !== 1) {
      throw new Error('the token lookup must have the digest as its only parameter');
    }
    this.tokenAndClientForAuthQuery = tokenAndClientForAuthQuery(db, this.dbNow).compile();
    this.sessionForAuthQuery = sessionForAuthQuery(db, this.dbNow).compile();
    const [first, second] = this.tokenAndClientForAuthQuery.parameters;
    if (this.tokenAndClientForAuthQuery.parameters.length !== 2 || first !== CLIENT_KEY_SLOT || !Buffer.isBuffer(second)) {
      throw new Error('the token-and-client lookup must take the client key, then the digest');
    }
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: createMigrationProvider(this.dialect) });
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((result) => result.status === 'Error');
    if (error || failed) {
      throw translateError(error ?? new Error(`migration ${failed?.migrationName} failed`));
    }
  }

  async ping(): Promise<void> {
    await this.now();
  }

  now(): Promise<number> {
    return this.guard(async () => {
      const { rows } = await sql<{ now: number }>`select ${this.dbNow} as now`.execute(this.db);
      return Number(rows[0]!.now);
    });
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // Accounts -----------------------------------------------------------------------------------

  insertAccount(account: AccountRecord, audit: AuditEventInput, identity?: OidcIdentity): Promise<void> {
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('accounts')
          .values({ ...accountRow(account), oidc_issuer: identity?.issuer ?? null, oidc_subject: identity?.subject ?? null })
          .execute();
        await insertAudit(trx, audit);
      }),
    );
  }

  findAccountByOidcIdentity(identity: OidcIdentity): Promise<AccountRecord | undefined> {
    return this.guard(async () => {
      const row = await this.db
        .selectFrom('accounts')
        .selectAll()
        .where('oidc_issuer', '=', identity.issuer)
        .where('oidc_subject', '=', identity.subject)
        .executeTakeFirst();
      return row && toAccount(row);
    });
  }

  bindOidcIdentity(accountId: string, identity: OidcIdentity): Promise<boolean> {
    return this.invalidating(async () => {
      const result = await this.db
        .updateTable('accounts')
        .set({ oidc_issuer: identity.issuer, oidc_subject: identity.subject })
        .where('id', '=', accountId)
        .where('oidc_issuer', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    });
  }

  recordSignIn(accountId: string, at: number): Promise<void> {
    return this.guard(async () => {
      await this.db.updateTable('accounts').set({ last_sign_in_at: at }).where('id', '=', accountId).execute();
    });
  }

  hasAdminSignedIn(): Promise<boolean> {
    return this.guard(async () => {
      const row = await this.db
        .selectFrom('accounts')
        .select('id')
        .where('is_admin', '=', 1)
        .where('last_sign_in_at', 'is not', null)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  findFirstAdmin(): Promise<AccountRecord | undefined> {
    return this.guard(async () => {
      const row = await this.db
        .selectFrom('accounts')
        .selectAll()
        .where('is_admin', '=', 1)
        .orderBy('created_at')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      return row && toAccount(row);
    });
  }

  findAccountById(id: string): Promise<AccountRecord | undefined> {
    return this.guard(async () => {
      const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toAccount(row);
    });
  }

  findAccountByEmail(email: string): Promise<AccountRecord | undefined> {
    return this.guard(async () => {
      const row = await this.db
        .selectFrom('accounts')
        .selectAll()
        .where('email', '=', email)
        .executeTakeFirst();
      return row && toAccount(row);
    });
  }

  setAccountDisabled(id: string, disabledAt: number | null, audit: AuditEventInput): Promise<boolean> {
    return this.invalidating(() =>
      this.db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('accounts')
          .set({ disabled_at: disabledAt })
          .where('id', '=', id)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) return false;
        await insertAudit(trx, audit);
        return true;
      }),
    );
  }

  deleteAccount(id: string, audit: AuditEventInput): Promise<boolean> {
    return this.invalidating(() =>
      this.db.transaction().execute(async (trx) => {
        const { count } = await trx
          .selectFrom('tokens')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('account_id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirstOrThrow();
        const result = await trx.deleteFrom('accounts').where('id', '=', id).executeTakeFirst();
        if (result.numDeletedRows === 0n) return false;
        await insertAudit(trx, {
          ...audit,
          detail: { ...audit.detail, tokensRevoked: Number(count) },
        });
        return true;
      }),
    );
  }

  // Tokens -------------------------------------------------------------------------------------

  insertToken(
    token: TokenRecord & { digest: Buffer },
    limits: { maxActive: number },
    audit: AuditEventInput,
  ): Promise<void> {
    // Creates that arrive together are committed together (see commitTokenInserts).
    return new Promise((resolve, reject) => this.tokenInserts.add({ token, limits, audit, resolve, reject }));
  }

  /**
   * Group commit: the creates that arrived while the previous batch was committing are
   * committed together, each refused alone by a name conflict or the limit. Every create is
   * answered only after the COMMIT that holds it, but the batch shares one commit (one fsync)
   * instead of one each — what keeps a burst of creates fast. On PostgreSQL the batch is one
   * call of latchkey_insert_tokens (migration 0005), which locks the owners' rows so the limit
   * holds across instances; on SQLite, one transaction with a savepoint per create.
   */
  private async commitTokenInserts(batch: readonly PendingTokenInsert[]): Promise<void> {
    if (this.dialect === 'postgres') return this.commitTokenInsertsOnPostgres(batch);
    const refused = new Map<PendingTokenInsert, StoreConflictError>();
    try {
      await this.guard(() =>
        this.db.transaction().execute(async (trx) => {
          for (const insert of batch) {
            await sql`savepoint token_insert`.execute(trx);
            try {
              await insertTokenRows(trx, insert.token, insert.limits, insert.audit);
            } catch (error) {
              const translated = translateError(error);
              // Anything but a per-create refusal (disk full, I/O) fails the whole batch.
              if (!(translated instanceof StoreConflictError)) throw error;
              await sql`rollback to savepoint token_insert`.execute(trx);
              refused.set(insert, translated);
            }
            await sql`release savepoint token_insert`.execute(trx);
          }
        }),
      );
    } catch (error) {
      for (const insert of batch) insert.reject(error);
      return;
    }
    for (const insert of batch) {
      const refusal = refused.get(insert);
      if (refusal) insert.reject(refusal);
      else insert.resolve();
    }
  }

  private async commitTokenInsertsOnPostgres(batch: readonly PendingTokenInsert[]): Promise<void> {
    const items = batch.map(({ token, limits, audit }) => {
      const row = tokenRow(token);
      return { token: { ...row, digest: row.digest.toString('hex') }, max_active: limits.maxActive, audit: auditRow(audit) };
    });
    let outcomes: string[];
    try {
      outcomes = await this.guard(async () => {
        const { rows } = await sql<{ outcomes: string[] }>`select latchkey_insert_tokens(${JSON.stringify(items)}::jsonb) as outcomes`.execute(this.db);
        return rows[0]!.outcomes;
      });
    } catch (error) {
      for (const insert of batch) insert.reject(error);
      return;
    }
    batch.forEach((insert, index) => {
      const outcome = outcomes[index];
      if (outcome === 'created') return insert.resolve();
      if (outcome === 'limit') return insert.reject(new StoreConflictError('token_limit_reached'));
      // A unique violation, named by its constraint: translated as a plain INSERT's would be.
      const constraint = outcome?.startsWith('unique:') ? outcome.slice('unique:'.length) : '';
      insert.reject(translateError(Object.assign(new Error(`duplicate key value violates unique constraint "${constraint}"`), { code: '23505', constraint })));
    });
  }

  findTokenForAuth(digest: Buffer): Promise<TokenForAuth | undefined> {
    const cache = this.hotPath.tokenCache;
    return cache ? cache.find(digest, () => this.lookUpTokenForAuth(digest)) : this.lookUpTokenForAuth(digest);
  }

  findTokenAndClientForAuth(digest: Buffer, clientKey: string): Promise<TokenAndClientForAuth> {
    return this.guard(async () => {
      const parameters = [clientKey, digest];
      const { runHotQuery } = this.hotPath;
      const row = (
        runHotQuery
          ? await runHotQuery(this.tokenAndClientForAuthQuery.sql, parameters)
          : (await this.db.executeQuery<TokenAndClientForAuthRow>({ ...this.tokenAndClientForAuthQuery, parameters })).rows[0]
      ) as TokenAndClientForAuthRow;
      const dbNow = Number(row.db_now);
      const client: AuthFailureRecord | undefined =
        row.client_failures === null
          ? undefined
          : {
              failures: Number(row.client_failures),
              windowStart: Number(row.client_window_start),
              bannedUntil: Number(row.client_banned_until),
            };
      const token: TokenForAuth | undefined =
        row.id === null
          ? undefined
          : { ...toTokenForAuth(row as TokenForAuthRow), dbNow };
      return { token, client, dbNow };
    });
  }

  recordAuthFailure(clientKey: string, rules: AuthFailureRules): Promise<void> {
    return this.guard(async () => {
      const now = this.dbNow;
      const windowOpen = sql<boolean>`auth_failures.window_start > ${now} - ${rules.windowMs}`;
      const banned = sql<boolean>`auth_failures.banned_until > ${now}`;
      const reachesThreshold = sql<boolean>`auth_failures.failures + 1 >= ${rules.threshold}`;
      // One atomic upsert, so concurrent failures on several instances all count.
      await this.db
        .insertInto('auth_failures')
        .values({ client_key: clientKey, failures: 1, window_start: now, banned_until: 0 })
        .onConflict((conflict) =>
          conflict.column('client_key').doUpdateSet({
            failures: sql<number>`case when ${banned} then auth_failures.failures when not (${windowOpen}) then 1 when ${reachesThreshold} then 0 else auth_failures.failures + 1 end`,
            window_start: sql<number>`case when ${banned} then auth_failures.window_start when not (${windowOpen}) or ${reachesThreshold} then ${now} else auth_failures.window_start end`,
            banned_until: sql<number>`case when ${banned} then auth_failures.banned_until when ${windowOpen} and ${reachesThreshold} then ${now} + ${rules.banMs} else auth_failures.banned_until end`,
          }),
        )
        .execute();
      if (++this.failuresRecorded % KyselyStore.PRUNE_EVERY === 0) {
        await this.db
          .deleteFrom('auth_failures')
          .where('banned_until', '<=', now)
          .where('window_start', '<=', sql<number>`${now} - ${rules.windowMs}`)
          .execute();
      }
    });
  }

  clearAuthFailures(clientKey: string): Promise<void> {
    return this.guard(async () => {
      await this.db
        .deleteFrom('auth_failures')
        .where('client_key', '=', clientKey)
        .where('banned_until', '<=', this.dbNow)
        .execute();
    });
  }

  /** The tokens-by-digest query itself, past the cache. */
  private lookUpTokenForAuth(digest: Buffer): Promise<TokenForAuth | undefined> {
    return this.guard(async () => {
      // The query that runs on every authenticated request is compiled once; only the digest
      // (its single parameter) changes.
      const parameters = [digest];
      const { runHotQuery } = this.hotPath;
      const row = runHotQuery
        ? ((await runHotQuery(this.tokenForAuthQuery.sql, parameters)) as TokenForAuthRow | undefined)
        : (await this.db.executeQuery<TokenForAuthRow>({ ...this.tokenForAuthQuery, parameters })).rows[0];
      if (!row) return undefined;
      return { ...toTokenForAuth(row), dbNow: Number(row.db_now) };
    });
  }

  findToken(accountId: string, tokenId: string): Promise<TokenRecord | undefined> {
    return this.guard(async () => {
      const row = await this.db
        .selectFrom('tokens')
        .select(TOKEN_COLUMNS)
        .where('id', '=', tokenId)
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return row && toToken(row);
    });
  }

  listTokens(accountId: string, filter: TokenListFilter): Promise<{ tokens: TokenRecord[]; dbNow: number }> {
    return this.guard(async () => {
      const dbNow = await this.now();
      const expiringFrom = dbNow + filter.expiringWindowMs;
      let query = this.db.selectFrom('tokens').select(TOKEN_COLUMNS).where('account_id', '=', accountId);
      switch (filter.state) {
        case 'all':
          break;
        case 'revoked':
          query = query.where('revoked_at', 'is not', null);
          break;
        case 'unrevoked':
          query = query.where('revoked_at', 'is', null);
          break;
        case 'active':
          query = query.where('revoked_at', 'is', null).where('expires_at', '>', expiringFrom);
          break;
        case 'expiring':
          query = query
            .where('revoked_at', 'is', null)
            .where('expires_at', '>', dbNow)
            .where('expires_at', '<=', expiringFrom);
          break;
        case 'expired':
          query = query.where('revoked_at', 'is', null).where('expires_at', '<=', dbNow);
          break;
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id').execute();
      // A plain substring test (`%` and `_` mean themselves), case-folded here rather than in SQL:
      // SQLite's lower() folds ASCII only and PostgreSQL's follows the database locale, so the
      // two backends would disagree on a name like "Café".
      const needle = filter.search?.toLowerCase();
      const tokens = rows.map(toToken).filter((token) => !needle || token.name.toLowerCase().includes(needle));
      return { tokens, dbNow };
    });
  }

  revokeToken(accountId: string, tokenId: string, revokedAt: number, audit: AuditEventInput): Promise<boolean> {
    return this.invalidating(() =>
      this.db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('tokens')
          .set({ revoked_at: revokedAt })
          .where('id', '=', tokenId)
          .where('account_id', '=', accountId)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) return false;
        await insertAudit(trx, audit);
        return true;
      }),
    );
  }

  revokeReportedTokens(
    digests: readonly Buffer[],
    revokedAt: number,
    records: {
      auditFor(token: TokenRecord): AuditEventInput;
      noticeFor(accountId: string, tokens: readonly TokenRecord[]): NoticeInput;
    },
  ): Promise<TokenRecord[]> {
    if (digests.length === 0) return Promise.resolve([]);
    return this.invalidating(() =>
      this.db.transaction().execute(async (trx) => {
        const revoked: TokenRecord[] = [];
        // One conditional UPDATE … RETURNING per chunk: the "not yet revoked" test and the write
        // are one statement, so two reports racing for a token cannot both revoke it.
        for (let start = 0; start < digests.length; start += REPORT_CHUNK) {
          const rows = await trx
            .updateTable('tokens')
            .set({ revoked_at: revokedAt })
            .where('digest', 'in', digests.slice(start, start + REPORT_CHUNK))
            .where('revoked_at', 'is', null)
            .where('expires_at', '>', this.dbNow)
            .returning(TOKEN_COLUMNS)
            .execute();
          revoked.push(...rows.map(toToken));
        }
        const byOwner = new Map<string, TokenRecord[]>();
        for (const token of revoked) byOwner.set(token.accountId, [...(byOwner.get(token.accountId) ?? []), token]);
        const audits = revoked.map((token) => auditRow(records.auditFor(token)));
        const notices = [...byOwner].map(([accountId, tokens]) => {
          const notice = records.noticeFor(accountId, tokens);
          return {
            id: notice.id,
            account_id: notice.accountId,
            kind: notice.kind,
            created_at: notice.createdAt,
            detail: JSON.stringify(notice.detail),
            dismissed_at: null,
          };
        });
        // Multi-row inserts: a report of 1,000 tokens is a handful of statements, not 2,000.
        for (let start = 0; start < audits.length; start += REPORT_CHUNK) {
          await trx.insertInto('audit_events').values(audits.slice(start, start + REPORT_CHUNK)).execute();
        }
        for (let start = 0; start < notices.length; start += REPORT_CHUNK) {
          await trx.insertInto('notices').values(notices.slice(start, start + REPORT_CHUNK)).execute();
        }
        return revoked;
      }),
    );
  }

  touchTokenLastUsed(tokenId: string, usedAt: number, ip: string | null, minIntervalMs: number): Promise<boolean> {
    return this.guard(async () => {
      const result = await this.db
        .updateTable('tokens')
        .set({ last_used_at: usedAt, last_used_ip: ip })
        .where('id', '=', tokenId)
        .where((eb) =>
          eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', usedAt - minIntervalMs)]),
        )
        .executeTakeFirst();
      const wrote = result.numUpdatedRows > 0n;
      // Keep a cached row in step; if someone else wrote first, reread it next time.
      if (wrote) this.hotPath.tokenCache?.recordUse(tokenId, usedAt, ip);
      else this.hotPath.tokenCache?.forget(tokenId);
      return wrote;
    });
  }

  // Sessions -----------------------------------------------------------------------------------

  insertSession(idDigest: Buffer, session: SessionRecord): Promise<void> {
    return this.guard(async () => {
      await this.db
        .insertInto('sessions')
        .values({
          id_digest: idDigest,
          account_id: session.accountId,
          csrf_token: session.csrfToken,
          created_at: session.createdAt,
          last_seen_at: session.lastSeenAt,
          expires_at: session.expiresAt,
        })
        .execute();
    });
  }

  findSessionForAuth(idDigest: Buffer): Promise<SessionForAuth | undefined> {
    return this.guard(async () => {
      // Every console request runs this: compiled once, like the token lookup.
      const parameters = [idDigest];
      const { runHotQuery } = this.hotPath;
      const row = runHotQuery
        ? ((await runHotQuery(this.sessionForAuthQuery.sql, parameters)) as SessionForAuthRow | undefined)
        : (await this.db.executeQuery<SessionForAuthRow>({ ...this.sessionForAuthQuery, parameters })).rows[0];
      if (!row) return undefined;
      return {
        accountId: row.account_id,
        csrfToken: row.csrf_token,
        createdAt: Number(row.created_at),
        lastSeenAt: Number(row.last_seen_at),
        expiresAt: Number(row.expires_at),
        account: toAccount({
          id: row.account_id,
          email: row.email,
          name: row.name,
          is_admin: row.is_admin,
          created_at: row.account_created_at,
          disabled_at: row.disabled_at,
        }),
        dbNow: Number(row.db_now),
      };
    });
  }

  touchSession(idDigest: Buffer, lastSeenAt: number): Promise<void> {
    return this.guard(async () => {
      await this.db
        .updateTable('sessions')
        .set({ last_seen_at: lastSeenAt })
        .where('id_digest', '=', idDigest)
        .execute();
    });
  }

  deleteSession(idDigest: Buffer): Promise<boolean> {
    return this.guard(async () => {
      const result = await this.db.deleteFrom('sessions').where('id_digest', '=', idDigest).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }

  // Sign-in ------------------------------------------------------------------------------------

  insertSignInLink(digest: Buffer, link: { accountId: string; createdAt: number; expiresAt: number }): Promise<void> {
    return this.guard(async () => {
      await this.db
        .insertInto('signin_links')
        .values({
          digest,
          account_id: link.accountId,
          created_at: link.createdAt,
          expires_at: link.expiresAt,
          used_at: null,
        })
        .execute();
    });
  }

  consumeSignInLink(digest: Buffer, usedAt: number): Promise<string | undefined> {
    return this.guard(async () => {
      const row = await this.db
        .updateTable('signin_links')
        .set({ used_at: usedAt })
        .where('digest', '=', digest)
        .where('used_at', 'is', null)
        .where('expires_at', '>', this.dbNow)
        .returning('account_id')
        .executeTakeFirst();
      return row?.account_id;
    });
  }

  insertLoginFlow(stateDigest: Buffer, flow: LoginFlowRecord): Promise<void> {
    return this.guard(async () => {
      await this.db
        .insertInto('login_flows')
        .values({
          state_digest: stateDigest,
          browser_digest: flow.browserDigest,
          code_verifier: flow.codeVerifier,
          nonce: flow.nonce,
          return_to: flow.returnTo,
          created_at: flow.createdAt,
          expires_at: flow.expiresAt,
        })
        .execute();
    });
  }

  consumeLoginFlow(stateDigest: Buffer): Promise<LoginFlowRecord | undefined> {
    return this.guard(async () => {
      const row = await this.db
        .deleteFrom('login_flows')
        .where('state_digest', '=', stateDigest)
        .returningAll()
        .executeTakeFirst();
      if (!row || Number(row.expires_at) <= (await this.now())) return undefined;
      return {
        browserDigest: row.browser_digest,
        codeVerifier: row.code_verifier,
        nonce: row.nonce,
        returnTo: row.return_to,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    });
  }

  insertCliGrant(codeDigest: Buffer, grant: CliGrantRecord): Promise<void> {
    return this.guard(async () => {
      await this.db
        .insertInto('cli_grants')
        .values({
          code_digest: codeDigest,
          account_id: grant.accountId,
          code_challenge: grant.codeChallenge,
          redirect_uri: grant.redirectUri,
          client_name: grant.clientName,
          created_at: grant.createdAt,
          expires_at: grant.expiresAt,
          used_at: null,
        })
        .execute();
    });
  }

  consumeCliGrant(codeDigest: Buffer, usedAt: number): Promise<CliGrantRecord | undefined> {
    return this.guard(async () => {
      const row = await this.db
        .updateTable('cli_grants')
        .set({ used_at: usedAt })
        .where('code_digest', '=', codeDigest)
        .where('used_at', 'is', null)
        .where('expires_at', '>', this.dbNow)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        accountId: row.account_id,
        codeChallenge: row.code_challenge,
        redirectUri: row.redirect_uri,
        clientName: row.client_name,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    });
  }

  // Namespaces ---------------------------------------------------------------------------------

  insertNamespace(namespace: NamespaceRecord, audit: AuditEventInput): Promise<void> {
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('namespaces')
          .values({
            id: namespace.id,
            name: namespace.name,
            account_id: namespace.accountId,
            created_at: namespace.createdAt,
          })
          .execute();
        await insertAudit(trx, audit);
      }),
    );
  }

  listNamespaces(accountId: string): Promise<NamespaceRecord[]> {
    return this.guard(async () => {
      const rows = await this.db
        .selectFrom('namespaces')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('name')
        .execute();
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        accountId: row.account_id,
        createdAt: Number(row.created_at),
      }));
    });
  }

  deleteNamespace(accountId: string, name: string, audit: AuditEventInput): Promise<boolean> {
    return this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        const deleted = await trx
          .deleteFrom('namespaces')
          .where('account_id', '=', accountId)
          .where('name', '=', name)
          .returning('id')
          .executeTakeFirst();
        if (!deleted) return false;
        await insertAudit(trx, { ...audit, targetId: deleted.id });
        return true;
      }),
    );
  }

  // Notices ------------------------------------------------------------------------------------

  listNotices(accountId: string): Promise<NoticeRecord[]> {
    return this.guard(async () => {
      const rows = await this.db
        .selectFrom('notices')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('dismissed_at', 'is', null)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
      return rows.map((row) => ({
        id: row.id,
        accountId: row.account_id,
        kind: row.kind as NoticeRecord['kind'],
        createdAt: Number(row.created_at),
        detail: JSON.parse(row.detail) as Record<string, unknown>,
        dismissedAt: nullableNumber(row.dismissed_at),
      }));
    });
  }

  dismissNotice(accountId: string, noticeId: string, dismissedAt: number): Promise<boolean> {
    return this.guard(async () => {
      const result = await this.db
        .updateTable('notices')
        .set({ dismissed_at: dismissedAt })
        .where('id', '=', noticeId)
        .where('account_id', '=', accountId)
        .where('dismissed_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    });
  }

  // Audit --------------------------------------------------------------------------------------

  insertAuditEvent(event: AuditEventInput): Promise<void> {
    return this.guard(async () => {
      await insertAudit(this.db, event);
    });
  }

  listAuditEvents(filter: { accountId?: string; limit: number }): Promise<AuditEventRecord[]> {
    return this.guard(async () => {
      let query = this.db.selectFrom('audit_events').selectAll();
      if (filter.accountId) query = query.where('actor_account_id', '=', filter.accountId);
      const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
      return rows.map((row) => ({
        id: row.id,
        occurredAt: Number(row.occurred_at),
        action: row.action as AuditEventRecord['action'],
        actor: { accountId: row.actor_account_id, tokenId: row.actor_token_id, ip: row.actor_ip },
        targetId: row.target_id,
        detail: JSON.parse(row.detail) as Record<string, unknown>,
      }));
    });
  }

  /** Runs a unit of work, turning driver errors the caller can act on into Store errors. */
  /** Turns the token cache off for good (raw SQL is about to bypass its invalidation). */
  disableTokenCache(): void {
    this.hotPath.tokenCache?.clear();
    this.hotPath.tokenCache = undefined;
  }

  /**
   * A write that can change an authentication decision (a revoke; an account disabled,
   * enabled, deleted or re-identified): the token cache is cleared once it has committed — or
   * failed, since a failure may come after the commit.
   */
  private async invalidating<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await this.guard(work);
    } finally {
      this.hotPath.tokenCache?.clear();
    }
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw translateError(error);
    }
  }
}

/** One indexed lookup by digest joined to the owner, with the database clock. */
function tokenForAuthQuery(db: Kysely<Database>, dbNow: RawBuilder<number>) {
  return db
    .selectFrom('tokens as t')
    .innerJoin('accounts as a', 'a.id', 't.account_id')
    .select([
      't.id',
      't.account_id',
      't.name',
      't.last4',
      't.created_at',
      't.expires_at',
      't.revoked_at',
      't.last_used_at',
      't.last_used_ip',
      'a.email as account_email',
      'a.name as account_name',
      'a.is_admin as account_is_admin',
      'a.created_at as account_created_at',
      'a.disabled_at as account_disabled_at',
    ])
    .select(dbNow.as('db_now'))
    .where('t.digest', '=', Buffer.alloc(32));
}

type TokenForAuthRow = InferResult<ReturnType<typeof tokenForAuthQuery>>[number];

/** A session by the digest of its id, joined to the owner, with the database clock. */
function sessionForAuthQuery(db: Kysely<Database>, dbNow: RawBuilder<number>) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select([
      's.account_id',
      's.csrf_token',
      's.created_at',
      's.last_seen_at',
      's.expires_at',
      'a.email',
      'a.name',
      'a.is_admin',
      'a.created_at as account_created_at',
      'a.disabled_at',
    ])
    .select(dbNow.as('db_now'))
    .where('s.id_digest', '=', Buffer.alloc(32));
}

type SessionForAuthRow = InferResult<ReturnType<typeof sessionForAuthQuery>>[number];

/** Stands in for the client key when the lookup below is compiled (checked in the constructor). */
const CLIENT_KEY_SLOT = 'client-key';

/**
 * The token lookup and the client's failure record in one statement that always returns one
 * row: a one-row probe carrying the client key, left-joined to both. Token columns are null
 * when the digest is unknown; failure columns are null when the client has no record.
 */
function tokenAndClientForAuthQuery(db: Kysely<Database>, dbNow: RawBuilder<number>) {
  return db
    .selectFrom(db.selectNoFrom(sql<string>`cast(${CLIENT_KEY_SLOT} as text)`.as('client_key')).as('probe'))
    .leftJoin('auth_failures as f', 'f.client_key', 'probe.client_key')
    .leftJoin('tokens as t', (join) => join.on('t.digest', '=', Buffer.alloc(32)))
    .leftJoin('accounts as a', 'a.id', 't.account_id')
    .select([
      't.id',
      't.account_id',
      't.name',
      't.last4',
      't.created_at',
      't.expires_at',
      't.revoked_at',
      't.last_used_at',
      't.last_used_ip',
      'a.email as account_email',
      'a.name as account_name',
      'a.is_admin as account_is_admin',
      'a.created_at as account_created_at',
      'a.disabled_at as account_disabled_at',
      'f.failures as client_failures',
      'f.window_start as client_window_start',
      'f.banned_until as client_banned_until',
    ])
    .select(dbNow.as('db_now'));
}

type TokenAndClientForAuthRow = InferResult<ReturnType<typeof tokenAndClientForAuthQuery>>[number];

function toTokenForAuth(row: TokenForAuthRow): Omit<TokenForAuth, 'dbNow'> {
  return {
    ...toToken(row),
    account: toAccount({
      id: row.account_id,
      email: row.account_email,
      name: row.account_name,
      is_admin: row.account_is_admin,
      created_at: row.account_created_at,
      disabled_at: row.account_disabled_at,
    }),
  };
}

/** Digests per statement when revoking reported tokens: far below every driver's parameter limit. */
const REPORT_CHUNK = 500;

const TOKEN_COLUMNS = [
  'id',
  'account_id',
  'name',
  'last4',
  'created_at',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'last_used_ip',
] as const;

interface PendingTokenInsert {
  token: TokenRecord & { digest: Buffer };
  limits: { maxActive: number };
  audit: AuditEventInput;
  resolve(): void;
  reject(error: unknown): void;
}

/** The rows of one create, inside the caller's transaction; the account rules first. */
async function insertTokenRows(
  trx: Transaction<Database>,
  token: TokenRecord & { digest: Buffer },
  limits: { maxActive: number },
  audit: AuditEventInput,
): Promise<void> {
  const { count } = await trx
    .selectFrom('tokens')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('account_id', '=', token.accountId)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  if (Number(count) >= limits.maxActive) throw new StoreConflictError('token_limit_reached');
  await trx.insertInto('tokens').values(tokenRow(token)).execute();
  await insertAudit(trx, audit);
}

/**
 * Collects items and hands them to `commit` in batches: the first item starts a batch on the
 * next turn of the event loop; items added while a batch commits wait for the next one.
 */
class BatchQueue<T> {
  private waiting: T[] = [];
  private committing = false;

  constructor(private readonly commit: (batch: readonly T[]) => Promise<void>) {}

  add(item: T): void {
    this.waiting.push(item);
    if (!this.committing && this.waiting.length === 1) setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        await this.commit(batch);
      }
    } finally {
      this.committing = false;
    }
  }
}

function insertAudit(trx: Kysely<Database> | Transaction<Database>, event: AuditEventInput) {
  return trx.insertInto('audit_events').values(auditRow(event)).execute();
}

function auditRow(event: AuditEventInput) {
  return {
    id: event.id,
    occurred_at: event.occurredAt,
    action: event.action,
    actor_account_id: event.actor.accountId,
    actor_token_id: event.actor.tokenId,
    actor_ip: event.actor.ip,
    target_id: event.targetId,
    detail: JSON.stringify(event.detail ?? {}),
  };
}

function accountRow(account: AccountRecord): AccountsTable {
  return {
    id: account.id,
    email: account.email,
    name: account.name,
    is_admin: account.isAdmin ? 1 : 0,
    created_at: account.createdAt,
    disabled_at: account.disabledAt,
  };
}

function toAccount(row: Omit<AccountsTable, 'oidc_issuer' | 'oidc_subject' | 'last_sign_in_at'>): AccountRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    isAdmin: Number(row.is_admin) === 1,
    createdAt: Number(row.created_at),
    disabledAt: nullableNumber(row.disabled_at),
  };
}

function tokenRow(token: TokenRecord & { digest: Buffer }): TokensTable {
  return {
    id: token.id,
    account_id: token.accountId,
    name: token.name,
    digest: token.digest,
    last4: token.last4,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    revoked_at: token.revokedAt,
    last_used_at: token.lastUsedAt,
    last_used_ip: token.lastUsedIp,
  };
}

function toToken(row: Omit<TokensTable, 'digest'>): TokenRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    last4: row.last4,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: nullableNumber(row.revoked_at),
    lastUsedAt: nullableNumber(row.last_used_at),
    lastUsedIp: row.last_used_ip,
  };
}

function nullableNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

// Driver error classification ---------------------------------------------------------------------

const UNIQUE_VIOLATIONS: Array<[pattern: RegExp, reason: StoreConflictError['reason']]> = [
  [/tokens_account_id_name_unrevoked|tokens\.account_id, tokens\.name/, 'token_name_taken'],
  [/namespaces_name|namespaces\.name/, 'namespace_name_taken'],
  [/accounts_email|accounts\.email/, 'email_taken'],
  [/accounts_oidc_identity|accounts\.oidc_issuer/, 'oidc_identity_taken'],
];

/** PostgreSQL SQLSTATE classes and Node socket errors that mean "not now", not "bug". */
const PG_UNAVAILABLE = /^(08|53|57P)/;
const NODE_NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|PROTOCOL|NOMEM)/;
const POOL_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Cannot use a pool after calling end|database connection is not open|driver has already been destroyed/i;

export function translateError(error: unknown): unknown {
  if (error instanceof StoreConflictError || error instanceof StoreUnavailableError) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  const constraint = String((error as { constraint?: unknown })?.constraint ?? '');

  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    const found = UNIQUE_VIOLATIONS.find(([pattern]) => pattern.test(`${constraint} ${message}`));
    if (found) return new StoreConflictError(found[1]);
  }
  if (
    PG_UNAVAILABLE.test(code) ||
    NODE_NETWORK_ERRORS.has(code) ||
    SQLITE_UNAVAILABLE.test(code) ||
    POOL_MESSAGES.test(message)
  ) {
    return new StoreUnavailableError(`database unavailable: ${code || message}`, { cause: error });
  }
  return error;
}
