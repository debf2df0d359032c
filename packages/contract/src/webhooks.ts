/**
 * Signed webhooks (`/api/v1/webhooks`, docs/webhooks.md): endpoints that receive token lifecycle
 * events, signed per the Standard Webhooks spec. The signing secret is in the create response
 * only.
 */
import { z } from 'zod';
import { WEBHOOK_EVENTS } from './webhook-events.js';

const timestamp = z.string().describe('RFC 3339, UTC');

export { WEBHOOK_EVENTS, WEBHOOK_EVENT_DESCRIPTIONS, type WebhookEvent } from './webhook-events.js';

/** The longest URL an endpoint may have. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;
/** Endpoints one account may hold. */
export const MAX_WEBHOOKS_PER_ACCOUNT = 20;

const webhookUrlSchema = z
  .string({ error: 'must be a string' })
  .max(MAX_WEBHOOK_URL_LENGTH, `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'must be an http or https URL without credentials')
  .describe('Where events are POSTed. Private, loopback, link-local and metadata addresses are refused unless the operator allows them.');

const webhookEventsSchema = z
  .array(z.enum(WEBHOOK_EVENTS, { error: `must be one of ${WEBHOOK_EVENTS.join(', ')}` }), { error: 'must be an array of event types' })
  .min(1, 'must name at least one event')
  .max(WEBHOOK_EVENTS.length, `must name at most ${WEBHOOK_EVENTS.length} events`)
  .describe('The event types to receive.');

const webhookDescriptionSchema = z
  .string({ error: 'must be a string' })
  .max(200, 'must be at most 200 characters')
  .nullable()
  .describe('What the endpoint is for.');

export const createWebhookRequestSchema = z.strictObject({
  url: webhookUrlSchema,
  events: webhookEventsSchema,
  description: webhookDescriptionSchema.optional(),
  instanceWide: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .describe("Administrators only: receive every account's token events, not only the caller's."),
});
export type CreateWebhookRequest = z.infer<typeof createWebhookRequestSchema>;

export const updateWebhookRequestSchema = z.strictObject({
  url: webhookUrlSchema.optional(),
  events: webhookEventsSchema.optional(),
  description: webhookDescriptionSchema.optional(),
  /** false re-enables an endpoint that was disabled (its failing streak starts afresh). */
  disabled: z.boolean({ error: 'must be true or false' }).optional().describe('true disables the endpoint; false re-enables it.'),
});
export type UpdateWebhookRequest = z.infer<typeof updateWebhookRequestSchema>;

export const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  description: z.string().nullable(),
  instanceWide: z.boolean(),
  createdAt: timestamp,
  /** When it was disabled (by its owner, or after 3 days of failed deliveries), or null. */
  disabledAt: timestamp.nullable(),
  disabledReason: z.enum(['owner', 'failing']).nullable(),
  /** The start of the current unbroken streak of failed attempts, or null. */
  failingSince: timestamp.nullable(),
});
export type WebhookView = z.infer<typeof webhookSchema>;

export const createWebhookResponseSchema = webhookSchema.extend({
  /** The signing secret (`whsec_…`): in this response only. */
  secret: z.string(),
});
export type CreateWebhookResponse = z.infer<typeof createWebhookResponseSchema>;

export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) });

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;

export const webhookAttemptSchema = z.object({
  attempt: z.number().int(),
  at: timestamp,
  succeeded: z.boolean(),
  /** The receiver's HTTP status, or null when none came (refused, timed out, address not allowed). */
  responseStatus: z.number().int().nullable(),
  durationMs: z.number().int(),
  error: z.string().nullable(),
});

export const webhookDeliverySchema = z.object({
  id: z.string(),
  /** The `webhook-id` header: the same on every attempt and redelivery. */
  messageId: z.string(),
  event: z.enum(WEBHOOK_EVENTS),
  /** `pending` while attempts remain, `succeeded` on a 2xx, `failed` once retries are exhausted. */
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int(),
  responseStatus: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
  error: z.string().nullable(),
  /** A short, sanitized excerpt of the last response body. */
  responseExcerpt: z.string().nullable(),
  createdAt: timestamp,
  lastAttemptAt: timestamp.nullable(),
  /** Every attempt, oldest first: the back-off timeline. */
  attemptLog: z.array(webhookAttemptSchema),
});
export type WebhookDeliveryView = z.infer<typeof webhookDeliverySchema>;

export const webhookDeliveryListSchema = z.object({ deliveries: z.array(webhookDeliverySchema) });
