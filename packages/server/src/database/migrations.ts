/**
 * The one migration list for both dialects: a static map (no directory scan, so bundling and
 * tests see exactly the same list). Append only; never edit a migration that has shipped.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './dialect.js';

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
 * someone reported them as leaked (docs/security.md, item 35).
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
 * Failed bearer authentications per client address, shared by every instance when there is no Redis
 * (docs/security.md, item 39). One row per address that failed recently; stale rows are pruned.
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
 * Round 1 created a PL/pgSQL function here that re-implemented the token insert for batches
 * on PostgreSQL. Batches now run the same Kysely code on both dialects (tokens/kysely-kysely-token-inserts.ts),
 * so this migration does nothing on a new database and 0006 drops the function where it was
 * created. (Kysely's migrator records migrations by name only, so both paths end alike.)
 */
const createTokensFunction: MigrationFactory = () => ({
  async up() {},
});

/**
 * PostgreSQL only: drops the create function round 1's 0005 made, where it exists.
 */
const dropCreateTokensFunction: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    if (dialect !== 'postgres') return;
    await sql`drop function if exists latchkey_insert_tokens(jsonb)`.execute(db);
  },
});

/**
 * Leaked-token reports waiting to be processed (docs/security.md, item 59): stored before the
 * 202, deleted in the transaction that processes them. Only SHA-256 digests, concatenated 32
 * bytes each: nothing here can be presented as a token. `next_attempt_at` is when an instance
 * may claim the report: at once for a new one, later after a failed attempt or while one holds it.
 */
const pendingCredentialReports: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('pending_credential_reports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('reporter_ip', 'text')
      .addColumn('digests', sql.raw(dialect === 'postgres' ? 'bytea' : 'blob'), (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('pending_credential_reports_next_attempt_at')
      .on('pending_credential_reports')
      .column('next_attempt_at')
      .execute();
  },
});

/**
 * Retention (docs/security.md, item 57): the pruner deletes expired rows in small batches, found
 * by these indexes instead of a scan of the whole table. Sessions end by absolute expiry or idle.
 */
const retentionIndexes: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();
    await db.schema.createIndex('sessions_last_seen_at').on('sessions').column('last_seen_at').execute();
    await db.schema.createIndex('signin_links_expires_at').on('signin_links').column('expires_at').execute();
    await db.schema.createIndex('login_flows_expires_at').on('login_flows').column('expires_at').execute();
    await db.schema.createIndex('cli_grants_expires_at').on('cli_grants').column('expires_at').execute();
  },
});

/**
 * Failed authentications per client key and 30-second bucket (docs/security.md, item 39, as
 * rewritten in round 2): the window slides bucket by bucket and nothing is banned, so the
 * one-row-per-address count of 0004 goes. Its rows were a few minutes' worth of counts.
 */
const authFailureWindow: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema.dropTable('auth_failures').execute();
    await db.schema
      .createTable('auth_failures')
      .addColumn('client_key', 'text', (c) => c.notNull())
      .addColumn('bucket', 'bigint', (c) => c.notNull())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('auth_failures_pkey', ['client_key', 'bucket'])
      .execute();
    await db.schema.createIndex('auth_failures_bucket').on('auth_failures').column('bucket').execute();
  },
});

/** A token's note: where it is used, up to 200 characters, or null (checked by the contract). */
const tokenNote: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('tokens').addColumn('note', 'text').execute();
  },
});

/**
 * Least privilege (docs/scopes.md): a token's scopes, namespace restriction and IP allowlist.
 * Tokens made before keep exactly what they could do: read and write namespaces (managing tokens
 * took a console session). The addresses a token was used from are kept for its page.
 */
const tokenScopes: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('tokens')
      .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('namespaces:read namespaces:write'))
      .execute();
    await db.schema.alterTable('tokens').addColumn('namespaces', 'text').execute();
    await db.schema.alterTable('tokens').addColumn('allowed_ips', 'text').execute();
    await db.schema
      .createTable('token_addresses')
      .addColumn('token_id', 'text', (c) => c.notNull().references('tokens.id').onDelete('cascade'))
      .addColumn('ip', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('token_addresses_pkey', ['token_id', 'ip'])
      .execute();
    await db.schema
      .createIndex('token_addresses_recent')
      .on('token_addresses')
      .columns(['token_id', 'last_used_at'])
      .execute();
    // A token's page lists what it did.
    await db.schema.createIndex('audit_events_actor_token').on('audit_events').columns(['actor_token_id', 'seq']).execute();
  },
});

/**
 * Administration, slice 2: service accounts (`kind` 'service': non-human, created by an
 * administrator — `created_by`, kept as a plain id so deleting that administrator keeps the
 * record —, with a `description`; they never sign in), and the instance policy, one row (id 1)
 * read at each token creation: lifetimes in days (null: no maximum for service tokens), the
 * personal scopes space-separated, the idle rule (null: off). No row: the environment's defaults.
 */
const adminSlice2: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('accounts').addColumn('kind', 'text', (c) => c.notNull().defaultTo('person')).execute();
    await db.schema.alterTable('accounts').addColumn('description', 'text').execute();
    await db.schema.alterTable('accounts').addColumn('created_by', 'text').execute();
    await db.schema.createIndex('accounts_kind_created').on('accounts').columns(['kind', 'created_at']).execute();
    await db.schema
      .createTable('policy')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('max_lifetime_days', 'integer', (c) => c.notNull())
      .addColumn('service_max_lifetime_days', 'integer')
      .addColumn('personal_scopes', 'text', (c) => c.notNull())
      .addColumn('idle_revoke_days', 'integer')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // The idle job looks for unrevoked tokens by last use.
    await db.schema.createIndex('tokens_idle').on('tokens').columns(['revoked_at', 'last_used_at']).execute();
  },
});

/**
 * The revocation feed (docs/forward-auth.md): one row, in order, for every token that stops
 * working — revoked, or deleted with its account — and every account disabled or deleted,
 * written by triggers in the same transaction as the change itself, so no write path can forget
 * it. `seq` only grows (AUTOINCREMENT on SQLite: a pruned feed never reuses a number), which is
 * what a client resumes from. On PostgreSQL each change also notifies `latchkey_revocations`,
 * delivered to every instance at commit.
 */
const revocationEvents: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('revocation_events')
      .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
        dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('subject_id', 'text', (c) => c.notNull())
      .addColumn('occurred_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('revocation_events_occurred_at').on('revocation_events').column('occurred_at').execute();

    for (const statement of dialect === 'postgres' ? REVOCATION_TRIGGERS_POSTGRES : REVOCATION_TRIGGERS_SQLITE) {
      await sql.raw(statement).execute(db);
    }
  },
});


/**
 * The triggers of 0013_revocation_events, written out (SQL is never built from strings here): a
 * token revoked, a live token deleted (with its account), an account disabled, an account
 * deleted. On PostgreSQL every event also notifies `latchkey_revocations`.
 */
const REVOCATION_TRIGGERS_SQLITE = [
  `create trigger token_revoked after update of revoked_at on tokens for each row
     when old.revoked_at is null and new.revoked_at is not null
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('token', new.id, cast(unixepoch('subsec') * 1000 as integer));
   end`,
  `create trigger token_deleted after delete on tokens for each row
     when old.revoked_at is null
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('token', old.id, cast(unixepoch('subsec') * 1000 as integer));
   end`,
  `create trigger account_disabled after update of disabled_at on accounts for each row
     when old.disabled_at is null and new.disabled_at is not null
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('account', new.id, cast(unixepoch('subsec') * 1000 as integer));
   end`,
  `create trigger account_deleted after delete on accounts for each row
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('account', old.id, cast(unixepoch('subsec') * 1000 as integer));
   end`,
];

const REVOCATION_TRIGGERS_POSTGRES = [
  `create function latchkey_revocation_notify() returns trigger language plpgsql as $$
   begin
     perform pg_notify('latchkey_revocations', new.seq::text);
     return null;
   end $$`,
  `create trigger revocation_events_notify after insert on revocation_events for each row execute function latchkey_revocation_notify()`,
  `create function latchkey_token_revoked() returns trigger language plpgsql as $$
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('token', new.id, (extract(epoch from clock_timestamp()) * 1000)::bigint);
     return null;
   end $$`,
  `create trigger token_revoked after update of revoked_at on tokens for each row
     when (old.revoked_at is null and new.revoked_at is not null) execute function latchkey_token_revoked()`,
  `create function latchkey_token_deleted() returns trigger language plpgsql as $$
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('token', old.id, (extract(epoch from clock_timestamp()) * 1000)::bigint);
     return null;
   end $$`,
  `create trigger token_deleted after delete on tokens for each row when (old.revoked_at is null) execute function latchkey_token_deleted()`,
  `create function latchkey_account_disabled() returns trigger language plpgsql as $$
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('account', new.id, (extract(epoch from clock_timestamp()) * 1000)::bigint);
     return null;
   end $$`,
  `create trigger account_disabled after update of disabled_at on accounts for each row
     when (old.disabled_at is null and new.disabled_at is not null) execute function latchkey_account_disabled()`,
  `create function latchkey_account_deleted() returns trigger language plpgsql as $$
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('account', old.id, (extract(epoch from clock_timestamp()) * 1000)::bigint);
     return null;
   end $$`,
  `create trigger account_deleted after delete on accounts for each row execute function latchkey_account_deleted()`,
];

/**
 * 0014_jobs: the durable job runner's queue (jobs/). A job is claimed by setting its lease
 * (`locked_by`, `locked_until`); `dedupe_key` makes an enqueue idempotent (NULLs never clash).
 * On PostgreSQL every insert notifies `latchkey_jobs`, so idle runners on other instances wake.
 */
const jobs: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('dedupe_key', 'text', (c) => c.unique())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('run_at', 'bigint', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked_by', 'text')
      .addColumn('locked_until', 'bigint')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();
    // Claiming reads due pending jobs by run_at and running ones by their lease.
    await db.schema.createIndex('jobs_claim').on('jobs').columns(['state', 'run_at']).execute();
    await db.schema.createIndex('jobs_lease').on('jobs').columns(['state', 'locked_until']).execute();
    await db.schema.createIndex('jobs_finished_at').on('jobs').column('finished_at').execute();
    if (dialect === 'postgres') for (const statement of JOBS_NOTIFY_POSTGRES) await sql.raw(statement).execute(db);
  },
});

/** 0014's PostgreSQL trigger, written out: one notification per inserting statement, sent at commit. */
const JOBS_NOTIFY_POSTGRES = [
  `create function latchkey_jobs_notify() returns trigger language plpgsql as $$
   begin
     perform pg_notify('latchkey_jobs', '');
     return null;
   end $$`,
  `create trigger jobs_notify after insert on jobs for each statement execute function latchkey_jobs_notify()`,
];

/**
 * 0015_token_rotation: a token replaced by rotation keeps its row with `replaced_by` (the new
 * token's id), `rotated_at` and `grace_until` (its expiry is shortened to it); the new one names
 * it in `rotated_from`. `rotation_uses` counts uses of the old secret since the rotation. A name
 * is now unique among an account's tokens neither revoked nor replaced, so the new token takes
 * the old one's name. Replacing a token emits a revocation-feed event (the verifier re-introspects
 * and sees the shortened expiry).
 */
const tokenRotation: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('tokens').addColumn('rotated_from', 'text').execute();
    await db.schema.alterTable('tokens').addColumn('replaced_by', 'text').execute();
    await db.schema.alterTable('tokens').addColumn('rotated_at', 'bigint').execute();
    await db.schema.alterTable('tokens').addColumn('grace_until', 'bigint').execute();
    await db.schema.alterTable('tokens').addColumn('rotation_uses', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.dropIndex('tokens_account_id_name_unrevoked').execute();
    await sql.raw(TOKEN_NAME_INDEX).execute(db);
    for (const statement of dialect === 'postgres' ? ROTATION_TRIGGERS_POSTGRES : ROTATION_TRIGGERS_SQLITE) {
      await sql.raw(statement).execute(db);
    }
  },
});

/** 0015: a name is unique among an account's current tokens (not revoked, not replaced by rotation). */
const TOKEN_NAME_INDEX = `create unique index tokens_account_id_name_current on tokens (account_id, name)
   where revoked_at is null and replaced_by is null`;

const ROTATION_TRIGGERS_SQLITE = [
  `create trigger token_rotated after update of replaced_by on tokens for each row
     when old.replaced_by is null and new.replaced_by is not null
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('token', new.id, cast(unixepoch('subsec') * 1000 as integer));
   end`,
];

const ROTATION_TRIGGERS_POSTGRES = [
  `create function latchkey_token_rotated() returns trigger language plpgsql as $$
   begin
     insert into revocation_events (kind, subject_id, occurred_at) values ('token', new.id, (extract(epoch from clock_timestamp()) * 1000)::bigint);
     return null;
   end $$`,
  `create trigger token_rotated after update of replaced_by on tokens for each row
     when (old.replaced_by is null and new.replaced_by is not null) execute function latchkey_token_rotated()`,
];

/**
 * 0017_webhooks: signed webhooks (webhooks/). An endpoint belongs to an account (instance-wide
 * ones to an administrator); each event sent to it is a delivery row (its body kept, so a retry
 * or a redelivery sends the same bytes under the same `webhook-id`), each attempt a row of its own.
 */
const webhooks: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('webhooks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('instance_wide', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('disabled_at', 'bigint')
      .addColumn('disabled_reason', 'text')
      .addColumn('failing_since', 'bigint')
      .execute();
    await db.schema.createIndex('webhooks_account_id').on('webhooks').column('account_id').execute();
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('event_key', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('response_status', 'integer')
      .addColumn('duration_ms', 'integer')
      .addColumn('error', 'text')
      .addColumn('response_excerpt', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('retry_from', 'bigint', (c) => c.notNull())
      .addColumn('last_attempt_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addUniqueConstraint('webhook_deliveries_webhook_id_event_key', ['webhook_id', 'event_key'])
      .execute();
    await db.schema.createIndex('webhook_deliveries_webhook_id_created_at').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();
    await db.schema
      .createTable('webhook_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('attempted_at', 'bigint', (c) => c.notNull())
      .addColumn('succeeded', 'integer', (c) => c.notNull())
      .addColumn('response_status', 'integer')
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('error', 'text')
      .execute();
    await db.schema.createIndex('webhook_attempts_delivery_id').on('webhook_attempts').columns(['delivery_id', 'attempted_at']).execute();
  },
});

/**
 * 0016_notification_preferences: each account's email switches (notifications/; no row: the
 * defaults), and one row per email the notification channel decided on, keyed by what it is
 * about (`expiry:<token>:<threshold>`, `revoked:<token>`, `ip-refused:<token>:<address>`,
 * `new-address:<token>:<address>`): the job that claims a key sends it, any other job for the same
 * key (a retried event, a second producer) does not, and a switched-off kind is recorded as
 * skipped.
 */
const notificationPreferences: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('notification_preferences')
      .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
      .addColumn('expiry', 'integer', (c) => c.notNull())
      .addColumn('revoked', 'integer', (c) => c.notNull())
      .addColumn('ip_refused', 'integer', (c) => c.notNull())
      .addColumn('new_address', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('email_notifications')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .execute();
    await db.schema.createIndex('email_notifications_token_id').on('email_notifications').column('token_id').execute();
  },
});

/**
 * A token's audit trail is what it did and what was done to it (created, rotated, revoked):
 * events are found by their target too.
 */
const auditTargetIndex: MigrationFactory = () => ({
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target_id', 'seq']).execute();
  },
});

/**
 * 0019_credential_reports_notify: on PostgreSQL, storing a leaked-token report notifies
 * `latchkey_credential_reports` (at commit, from the INSERT itself: the request still runs one
 * statement), so every instance's report worker wakes for it instead of polling (docs/security.md,
 * item 59). SQLite has no notifications; one instance processes what it stores.
 */
const credentialReportsNotify: MigrationFactory = (dialect) => ({
  async up(db: Kysely<unknown>) {
    if (dialect === 'postgres') for (const statement of CREDENTIAL_REPORTS_NOTIFY_POSTGRES) await sql.raw(statement).execute(db);
  },
});

/** 0019's PostgreSQL trigger, written out: one notification per inserting statement, sent at commit. */
const CREDENTIAL_REPORTS_NOTIFY_POSTGRES = [
  `create function latchkey_credential_reports_notify() returns trigger language plpgsql as $$
   begin
     perform pg_notify('latchkey_credential_reports', '');
     return null;
   end $$`,
  `create trigger pending_credential_reports_notify after insert on pending_credential_reports
   for each statement execute function latchkey_credential_reports_notify()`,
];

const MIGRATIONS: Record<string, MigrationFactory> = {
  '0001_initial_schema': initialSchema,
  '0002_sign_in': signIn,
  '0003_notices': notices,
  '0004_auth_failures': authFailures,
  '0005_create_tokens_function': createTokensFunction,
  '0006_drop_create_tokens_function': dropCreateTokensFunction,
  '0007_pending_credential_reports': pendingCredentialReports,
  '0008_retention_indexes': retentionIndexes,
  '0009_auth_failure_window': authFailureWindow,
  '0010_token_note': tokenNote,
  '0011_token_scopes': tokenScopes,
  '0012_service_accounts_and_policy': adminSlice2,
  '0013_revocation_events': revocationEvents,
  '0014_jobs': jobs,
  '0015_token_rotation': tokenRotation,
  '0016_notification_preferences': notificationPreferences,
  '0017_webhooks': webhooks,
  '0018_audit_target_index': auditTargetIndex,
  '0019_credential_reports_notify': credentialReportsNotify,
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
