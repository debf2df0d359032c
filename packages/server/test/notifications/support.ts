/**
 * What the notification tests share: an app whose emails go to a real SMTP server on loopback
 * (through the real nodemailer mailer), a manual clock, and a way to run the job runner until
 * the expected emails arrived.
 */
import { tokenScannerRegExp } from '@latchkey/contract/token-format';
import { expect } from 'vitest';
import { createManualClock } from '../../src/kernel/clock.js';
import { createSmtpMailer } from '../../src/notifications/smtp-mailer.js';
import type { Database } from '../../src/database/database.js';
import { createTestApp, type TestApp, type TestAppOptions } from '../support/app.js';
import type { ReceivedEmail, TestSmtpServer } from '../support/smtp-server.js';

export const MAIL_FROM = 'Latchkey <latchkey@example.test>';
export const DAY_MS = 86_400_000;

export async function emailApp(database: Database, smtp: TestSmtpServer, options: TestAppOptions = {}) {
  // The database decides whether a token is live: start the manual clock at the real time.
  const clock = createManualClock(Date.now());
  const app = await createTestApp(database, { clock, mailer: createSmtpMailer({ url: smtp.url, from: MAIL_FROM }), ...options });
  return { app, clock };
}

/** Runs due jobs (events, then their email jobs) until nothing is due. */
export async function drainJobs(app: TestApp): Promise<void> {
  for (let round = 0; round < 50; round += 1) {
    if ((await app.services.jobs.runDue()) === 0) return;
  }
  throw new Error('jobs kept coming');
}

/**
 * Runs the jobs until `count` emails arrived in all, waiting for background writes (a token's
 * address is recorded after its request has been answered).
 */
export async function deliverUntil(app: TestApp, smtp: TestSmtpServer, count: number, timeoutMs = 20_000): Promise<ReceivedEmail[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await drainJobs(app);
    if (smtp.received.length >= count) return smtp.received;
    if (Date.now() > deadline) throw new Error(`expected ${count} emails, ${smtp.received.length} arrived`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Every email names no secret: no token-shaped string, and none of `secrets` (docs/security.md, item 52). */
export function expectNoSecret(email: ReceivedEmail, secrets: readonly string[]): void {
  // Quoted-printable or base64 bodies could hide one from the raw text: the decoded bodies too.
  for (const text of [email.raw, email.parsed.subject ?? '', email.parsed.text ?? '', String(email.parsed.html)]) {
    expect(text.match(tokenScannerRegExp()) ?? []).toEqual([]);
  }
  for (const secret of secrets) {
    expect(email.raw).not.toContain(secret);
    expect(email.parsed.text ?? '').not.toContain(secret);
    expect(String(email.parsed.html)).not.toContain(secret);
  }
}
