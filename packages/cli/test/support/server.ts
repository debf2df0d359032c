/** The real server app on in-memory SQLite, plus seeding that the API refuses on purpose. */
import { generateToken } from '@latchkey/contract/token';
import { auditEvent } from '../../../server/src/domain/audit.js';
import { SYSTEM_ACTOR } from '../../../server/src/domain/index.js';
import { newId } from '../../../server/src/domain/ids.js';
import { openStore } from '../../../server/src/store/open-store.js';
import type { Store } from '../../../server/src/store/store.js';
import { createTestApp, type TestApp } from '../../../server/test/support/app.js';

export async function createServerApp(): Promise<TestApp> {
  const store = openStore('sqlite::memory:');
  await store.migrate();
  return createTestApp(store);
}

/**
 * A token written straight into the store, as data that predates today's rules would be:
 * any name (control characters too), any expiry (the past too).
 */
export async function seedToken(
  store: Store,
  accountId: string,
  input: { name: string; expiresAt: number; createdAt?: number },
): Promise<string> {
  const generated = generateToken();
  const id = newId();
  const createdAt = input.createdAt ?? Math.min(Date.now(), input.expiresAt) - 86_400_000;
  await store.insertToken(
    {
      id,
      accountId,
      name: input.name,
      last4: generated.last4,
      createdAt,
      expiresAt: input.expiresAt,
      revokedAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      digest: generated.digest,
    },
    { maxActive: 100 },
    auditEvent(createdAt, 'token.created', SYSTEM_ACTOR, id),
  );
  return generated.token;
}

/** A namespace written straight into the store, bypassing the DNS-1123 rule. */
export async function seedNamespace(store: Store, accountId: string, name: string): Promise<void> {
  const id = newId();
  await store.insertNamespace({ id, name, accountId, createdAt: Date.now() }, auditEvent(Date.now(), 'namespace.created', SYSTEM_ACTOR, id));
}
