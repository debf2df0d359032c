/** Every capability's Kysely store on one database: what the contract tests talk to. */
import { createKyselyAccountStore } from '../../src/accounts/kysely-account-store.js';
import { createKyselyAuditStore } from '../../src/audit/kysely-audit-store.js';
import { createKyselyAuthFailureStore } from '../../src/auth-failures/kysely-auth-failure-store.js';
import { createKyselyReportStore } from '../../src/credential-reports/kysely-report-store.js';
import type { Database } from '../../src/database/database.js';
import { createKyselyNamespaceStore } from '../../src/namespaces/kysely-namespace-store.js';
import { createKyselyNoticeStore } from '../../src/notices/kysely-notice-store.js';
import { createKyselySessionStore } from '../../src/sessions/kysely-session-store.js';
import { createKyselySignInStore } from '../../src/sessions/kysely-sign-in-store.js';
import { createKyselyTokenStore, type TokenStoreOptions } from '../../src/tokens/kysely-token-store.js';

import { createKyselyRevocationStore } from '../../src/verification/kysely-revocation-store.js';

export function createStores(database: Database, options: TokenStoreOptions = {}) {
  return {
    accounts: createKyselyAccountStore(database),
    audit: createKyselyAuditStore(database),
    authFailures: createKyselyAuthFailureStore(database),
    namespaces: createKyselyNamespaceStore(database),
    notices: createKyselyNoticeStore(database),
    reports: createKyselyReportStore(database),
    sessions: createKyselySessionStore(database),
    signIn: createKyselySignInStore(database),
    tokens: createKyselyTokenStore(database, options),
    revocations: createKyselyRevocationStore(database),
  };
}

export type Stores = ReturnType<typeof createStores>;
