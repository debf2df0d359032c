/** Where webhooks plug into the job runner (docs/jobs.md): the `webhook` channel and the delivery kind. */
import { DEFAULT_RETRY, WEBHOOK_RETRY } from '../jobs/job.js';
import type { EventChannels } from '../jobs/events.js';
import type { JobRunner } from '../jobs/job-runner.js';
import { WEBHOOK_DELIVER_JOB, type WebhookDelivery } from './webhook-delivery.js';

export const WEBHOOK_CHANNEL = 'webhook';

/** Each attempt is bounded by the sender's 10 s timeout; the lease leaves room for the database writes around it. */
const DELIVERY_LEASE_MS = 60_000;

export function registerWebhookJobs(jobs: JobRunner, events: EventChannels, delivery: WebhookDelivery): void {
  events.add(WEBHOOK_CHANNEL, (event) => delivery.fanOut(event), { retry: DEFAULT_RETRY });
  jobs.register(
    WEBHOOK_DELIVER_JOB,
    ({ payload, attempt }) => {
      const { deliveryId, retryFrom } = payload as { deliveryId: string; retryFrom: number };
      return delivery.attempt(deliveryId, retryFrom, attempt);
    },
    { retry: WEBHOOK_RETRY, concurrency: 8, leaseMs: DELIVERY_LEASE_MS },
  );
}
