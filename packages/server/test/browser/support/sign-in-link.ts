/**
 * A one-time sign-in link for any account by its id, written into the running server's database
 * as the server itself would: what no route and no host command does, for an account without an
 * email (a service account), to show the link does not sign it in.
 */
import { systemClock } from '../../../src/kernel/clock.js';
import { createLogger } from '../../../src/http/logging.js';
import { openDatabase } from '../../../src/database/open-database.js';
import { createServices } from '../../../src/services.js';
import type { RunningServer } from './server.js';

export async function signInLinkForAccount(server: RunningServer, accountId: string): Promise<string> {
  const database = openDatabase(server.databaseUrl);
  const services = createServices({
    database,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100 },
    publicUrl: server.origin,
  });
  try {
    return (await services.signInLinks.issue(accountId)).url;
  } finally {
    await services.close();
    await database.close();
  }
}
