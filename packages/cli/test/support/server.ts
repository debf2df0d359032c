/** The real server app on in-memory SQLite, plus seeding that the API refuses on purpose. */
import { DEFAULT_TOKEN_SCOPES } from '@latchkey/contract/scopes';
import { generateToken } from '@latchkey/contract/token';
import { auditEvent, SYSTEM_ACTOR } from '../../../server/src/audit/audit-event.js';
import type { Database } from '../../../server/src/database/database.js';
import { openDatabase } from '../../../server/src/database/open-database.js';
import { createKyselyNamespaceStore } from '../../../server/src/namespaces/kysely-namespace-store.js';
import { newId } from '../../../server/src/kernel/ids.js';
import { createKyselyTokenStore } from '../../../server/src/tokens/kysely-token-store.js';
import { createTestApp, type TestApp } from '../../../server/test/support/app.js';

export async function createServerApp(options: Parameters<typeof createTestApp>[1] = {}): Promise<TestApp> {
  const database = openDatabase('sqlite::memory:');
  await database.migrate();
  return createTestApp(database, options);
}

/** Stops the app and closes its database. */
export async function closeServerApp(app: TestApp | undefined): Promise<void> {
  await app?.close();
  await app?.database.close();
}

/**
 * A token written straight into the database, as data that predates today's rules would be:
 * any name (control characters too), any expiry (the past too). Its scopes are the default a
 * new token gets; it is restricted to no namespace and no address.
 */
export async function seedToken(
  database: Database,
  accountId: string,
  input: { name: string; expiresAt: number; createdAt?: number; note?: string },
): Promise<string> {
  const generated = generateToken();
  const id = newId();
  const createdAt = input.createdAt ?? Math.min(Date.now(), input.expiresAt) - 86_400_000;
  const record = {
    id,
    accountId,
    name: input.name,
    note: input.note ?? null,
    scopes: [...DEFAULT_TOKEN_SCOPES],
    namespaces: null,
    allowedIps: null,
    last4: generated.last4,
    createdAt,
    expiresAt: input.expiresAt,
    revokedAt: null,
    lastUsedAt: null,
    lastUsedIp: null,
    digest: generated.digest,
  };
  await createKyselyTokenStore(database).insertToken(
    record,
    { maxActive: 100 },
    auditEvent(createdAt, 'token.created', SYSTEM_ACTOR, id),
  );
  return generated.token;
}

/** A namespace written straight into the database, bypassing the DNS-1123 rule. */
export async function seedNamespace(database: Database, accountId: string, name: string): Promise<void> {
  const id = newId();
  await createKyselyNamespaceStore(database).insertNamespace({ id, name, accountId, createdAt: Date.now() }, { maxPerAccount: 100_000 }, auditEvent(Date.now(), 'namespace.created', SYSTEM_ACTOR, id));
}
