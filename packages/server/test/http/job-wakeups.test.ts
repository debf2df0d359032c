/**
 * A lifecycle event written with its audit event (here a token's creation) is handled as soon
 * as its transaction commits, with the runner started and its idle cap far away: the store
 * announces the committed job in process (database/committed-jobs.ts), which SQLite needs — it
 * has no NOTIFY — and PostgreSQL gets as well. Before this, the event waited for the cap.
 */
import { expect, it } from 'vitest';
import { describeEachBackend } from '../support/databases.js';
import { createTestApp } from '../support/app.js';

const TEN_MINUTES = 10 * 60_000;

describeEachBackend('Job wake-ups', (ctx) => {
  it('a token created through the API reaches a channel without waiting for the runner\'s idle cap', async () => {
    const app = await createTestApp(ctx.database, { jobMaxIdleMs: TEN_MINUTES });
    const seen: string[] = [];
    app.services.events.add('probe', async (event) => {
      seen.push(`${event.event} ${event.tokenId}`);
    });
    app.services.jobs.start();
    try {
      const session = await app.signIn();
      // Let the start-up pass settle, so nothing but the wake-up can run what comes next.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const { token } = await app.createToken(session, 'woken');
      // No time limit of our own beyond the test's: without the wake-up this waits ten minutes.
      while (!seen.includes(`token.created ${token.id}`)) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).toContain(`token.created ${token.id}`);
    } finally {
      await app.close();
    }
  }, 60_000);
});
