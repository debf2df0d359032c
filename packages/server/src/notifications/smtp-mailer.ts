/**
 * The Mailer over SMTP, with nodemailer: `SMTP_URL` (`smtp://user:pass@host:587` or
 * `smtps://…:465`) and `MAIL_FROM`. One connection per message (notifications are few), with
 * timeouts short enough that a dead server fails the job, which the runner retries, rather than
 * holding its lease.
 */
import nodemailer from 'nodemailer';
import type { Mailer } from './mailer.js';

const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 30_000;

export function createSmtpMailer(settings: { url: string; from: string }): Mailer {
  const transport = nodemailer.createTransport({
    url: settings.url,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: CONNECTION_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });
  return {
    async send(email) {
      await transport.sendMail({ from: settings.from, to: email.to, subject: email.subject, text: email.text, html: email.html });
    },
    close() {
      transport.close();
    },
  };
}
