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
 * PostgreSQL only: the token creates that arrive together, as one function call — one round
 * trip and one commit for the lot, as SQLite's group commit shares one fsync (SECURITY.md item
 * 25). The owners' rows are locked first, in id order, so concurrent batches from several
 * instances never deadlock and each account's limit holds. Each create then runs in its own
 * exception block (a subtransaction): a taken name refuses that create alone. Each statement in
 * a volatile PL/pgSQL function takes a fresh snapshot, so a count made after the lock sees every
 * create committed before it.
 *
 * `p_items` is a JSON array of { token: {id, account_id, name, digest (hex), last4, created_at,
 * expires_at, revoked_at, last_used_at, last_used_ip}, max_active, audit: {id, occurred_at,
 * action, actor_account_id, actor_token_id, actor_ip, target_id, detail} }. The answer is a JSON
 * array in the same order: "created", "limit", or "unique:<constraint>".
 */
const createTokensFunction: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    if (dialect !== 'postgres') return;
    await sql`
      create or replace function latchkey_insert_tokens(p_items jsonb) returns jsonb
      language plpgsql volatile as $body$
      declare
        item jsonb;
        t jsonb;
        a jsonb;
        live integer;
        outcome text;
        outcomes jsonb := '[]'::jsonb;
        violated text;
      begin
        perform 1 from accounts
          where id in (select distinct x->'token'->>'account_id' from jsonb_array_elements(p_items) as x)
          order by id for update;
        for item in select value from jsonb_array_elements(p_items) loop
          t := item->'token';
          a := item->'audit';
          select count(*) into live from tokens where account_id = t->>'account_id' and revoked_at is null;
          if live >= (item->>'max_active')::integer then
            outcome := 'limit';
          else
            begin
              insert into tokens (id, account_id, name, digest, last4, created_at, expires_at, revoked_at, last_used_at, last_used_ip)
                values (t->>'id', t->>'account_id', t->>'name', decode(t->>'digest', 'hex'), t->>'last4',
                        (t->>'created_at')::bigint, (t->>'expires_at')::bigint, (t->>'revoked_at')::bigint,
                        (t->>'last_used_at')::bigint, t->>'last_used_ip');
              insert into audit_events (id, occurred_at, action, actor_account_id, actor_token_id, actor_ip, target_id, detail)
                values (a->>'id', (a->>'occurred_at')::bigint, a->>'action', a->>'actor_account_id', a->>'actor_token_id',
                        a->>'actor_ip', a->>'target_id', a->>'detail');
              outcome := 'created';
            exception when unique_violation then
              get stacked diagnostics violated = constraint_name;
              outcome := 'unique:' || coalesce(violated, '');
            end;
          end if;
          outcomes := outcomes || to_jsonb(outcome);
        end loop;
        return outcomes;
      end
      $body$`.execute(db);
  },
});

const MIGRATIONS: Record<string, MigrationFactory> = {
  '0001_initial_schema': initialSchema,
  '0002_sign_in': signIn,
  '0003_notices': notices,
  '0004_auth_failures': authFailures,
  '0005_create_tokens_function': createTokensFunction,
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
