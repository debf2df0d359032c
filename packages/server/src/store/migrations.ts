/**
 * The one migration list for both dialects: a static map (no directory scan, so bundling and
 * tests see exactly the same list). Append only; never edit a migration that has shipped.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './store.js';

type MigrationFactory = (dialect: Dialect) => Migration;

const initialSchema: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const binary = dialect === 'postgres' ? 'bytea' : 'blob';

    await db.schema
      .createTable('accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.unique())
      .addColumn('name', 'text')
      .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('disabled_at', 'bigint')
      .execute();

    await db.schema
      .createTable('tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) =>
        c.notNull().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('digest', sql.raw(binary), (c) => c.notNull().unique())
      .addColumn('last4', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .addColumn('last_used_ip', 'text')
      .execute();
    await db.schema.createIndex('tokens_account_id').on('tokens').column('account_id').execute();
    // A name is unique among an account's tokens that are not revoked.
    await db.schema
      .createIndex('tokens_account_id_name_unrevoked')
      .on('tokens')
      .columns(['account_id', 'name'])
      .unique()
      .where(sql.ref('revoked_at'), 'is', null)
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id_digest', sql.raw(binary), (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) =>
        c.notNull().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_account_id').on('sessions').column('account_id').execute();

    await db.schema
      .createTable('namespaces')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('account_id', 'text', (c) =>
        c.notNull().references('accounts.id').onDelete('cascade'),
      )
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('namespaces_account_id').on('namespaces').column('account_id').execute();

    // Audit events outlive the accounts they name: no foreign keys.
    await db.schema
      .createTable('audit_events')
      .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => c.primaryKey())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('occurred_at', 'bigint', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('actor_account_id', 'text')
      .addColumn('actor_token_id', 'text')
      .addColumn('actor_ip', 'text')
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('audit_events_actor_account_id')
      .on('audit_events')
      .columns(['actor_account_id', 'seq'])
      .execute();
  },
});

const signIn: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    const binary = sql.raw(dialect === 'postgres' ? 'bytea' : 'blob');

    await db.schema.alterTable('accounts').addColumn('oidc_issuer', 'text').execute();
    await db.schema.alterTable('accounts').addColumn('oidc_subject', 'text').execute();
    await db.schema.alterTable('accounts').addColumn('last_sign_in_at', 'bigint').execute();
    await db.schema
      .createIndex('accounts_oidc_identity')
      .on('accounts')
      .columns(['oidc_issuer', 'oidc_subject'])
      .unique()
      .execute();

    await db.schema
      .createTable('signin_links')
      .addColumn('digest', binary, (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();

    await db.schema
      .createTable('login_flows')
      .addColumn('state_digest', binary, (c) => c.primaryKey())
      .addColumn('browser_digest', binary, (c) => c.notNull())
      .addColumn('code_verifier', 'text', (c) => c.notNull())
      .addColumn('nonce', 'text', (c) => c.notNull())
      .addColumn('return_to', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('cli_grants')
      .addColumn('code_digest', binary, (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('code_challenge', 'text', (c) => c.notNull())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('client_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
  },
});

/**
 * Notices for an account, shown in the console until dismissed: today, tokens revoked because
 * someone reported them as leaked (SECURITY.md item 35).
 */
const notices: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('notices')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('dismissed_at', 'bigint')
      .execute();
    await db.schema.createIndex('notices_account_id').on('notices').columns(['account_id', 'created_at']).execute();
  },
});

/**
 * Failed bearer authentications per client address, shared by every instance when there is no
 * Redis (SECURITY.md item 39). One row per address that failed recently; stale rows are pruned.
 */
const authFailures: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('auth_failures')
      .addColumn('client_key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('banned_until', 'bigint', (c) => c.notNull())
      .execute();
  },
});

/**
 * PostgreSQL only: a token create (the owner's row locked, the per-account limit counted, the
 * token and its audit event inserted) as one function call, so it costs one round trip instead
 * of six. A burst of creates is otherwise bound by this process's per-query work (SECURITY.md
 * item 25). Each statement inside a volatile PL/pgSQL function takes a fresh snapshot, so the
 * count made after the lock sees every create committed before it. Returns false when the
 * account is at its limit; a taken name raises the unique violation as a plain INSERT would.
 */
const createTokenFunction: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    if (dialect !== 'postgres') return;
    await sql`
      create or replace function latchkey_insert_token(
        p_id text, p_account_id text, p_name text, p_digest bytea, p_last4 text,
        p_created_at bigint, p_expires_at bigint, p_revoked_at bigint, p_last_used_at bigint,
        p_last_used_ip text, p_max_active integer,
        p_audit_id text, p_audit_occurred_at bigint, p_audit_action text,
        p_audit_actor_account_id text, p_audit_actor_token_id text, p_audit_actor_ip text,
        p_audit_target_id text, p_audit_detail text
      ) returns boolean language plpgsql volatile as $body$
      declare
        live integer;
      begin
        perform 1 from accounts where id = p_account_id for update;
        select count(*) into live from tokens where account_id = p_account_id and revoked_at is null;
        if live >= p_max_active then
          return false;
        end if;
        insert into tokens (id, account_id, name, digest, last4, created_at, expires_at, revoked_at, last_used_at, last_used_ip)
          values (p_id, p_account_id, p_name, p_digest, p_last4, p_created_at, p_expires_at, p_revoked_at,
                  p_last_used_at, p_last_used_ip);
        insert into audit_events (id, occurred_at, action, actor_account_id, actor_token_id, actor_ip, target_id, detail)
          values (p_audit_id, p_audit_occurred_at, p_audit_action, p_audit_actor_account_id, p_audit_actor_token_id,
                  p_audit_actor_ip, p_audit_target_id, p_audit_detail);
        return true;
      end
      $body$`.execute(db);
  },
});

const MIGRATIONS: Record<string, MigrationFactory> = {
  '0001_initial_schema': initialSchema,
  '0002_sign_in': signIn,
  '0003_notices': notices,
  '0004_auth_failures': authFailures,
  '0005_create_token_function': createTokenFunction,
};

export function createMigrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations() {
      return Object.fromEntries(
        Object.entries(MIGRATIONS).map(([name, factory]) => [name, factory(dialect)]),
      );
    },
  };
}
