/** The webhook event types (docs/webhooks.md). Zod-free, so the console imports them cheaply. */

/** Every event a webhook may subscribe to, in the order the console lists them. */
export const WEBHOOK_EVENTS = [
  'token.created',
  'token.rotated',
  'token.revoked',
  'token.expiring',
  'token.expired',
  'token.leaked',
  'token.ip_refused',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** What each event means, in a few words (console, OpenAPI). */
export const WEBHOOK_EVENT_DESCRIPTIONS: Record<WebhookEvent, string> = {
  'token.created': 'A token was created',
  'token.rotated': 'A token was rotated (replaced by a new secret)',
  'token.revoked': 'A token was revoked',
  'token.expiring': 'A token expires in 30, 7 or 1 day(s), or today',
  'token.expired': 'A token expired',
  'token.leaked': 'A token was revoked because someone reported it as leaked',
  'token.ip_refused': 'A token was presented from outside its IP allowlist and refused',
};
