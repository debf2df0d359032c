/**
 * The port the notification service sends email through (smtp-mailer.ts is the real one). A
 * message carries both bodies; the service never builds a message with a secret in it.
 */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Resolves once the SMTP server accepted the message; rejects on any failure (the job retries). */
  send(email: OutgoingEmail): Promise<void>;
  /** Lets go of pooled connections. */
  close(): void;
}
