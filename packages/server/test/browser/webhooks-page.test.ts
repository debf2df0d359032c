/**
 * The Webhooks page in real headless Chromium against the real binary (its job runner running,
 * WEBHOOK_ALLOW_PRIVATE=true so it may reach a receiver on loopback): create an endpoint and see
 * its signing secret once, a token event delivered to a real receiver that verifies the signature
 * (docs/security.md, item 53), the delivery listed, and Redeliver sending the same message again.
 */
import type { Browser } from 'playwright-core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/webhooks.js';
import { describeInBrowser } from './support/chromium.js';
import { consoleServerAndBrowser, screenshot, signInInBrowser } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;
let receiver: Receiver;
let secret = '';

describeInBrowser('Webhooks page (Chromium)', () => {
  consoleServerAndBrowser((started) => ({ server, browser } = started), { WEBHOOK_ALLOW_PRIVATE: 'true' });
  beforeEach(async () => {
    receiver = await startReceiver(() => secret);
  });
  afterEach(() => receiver.close());

  it('creates a webhook showing its secret once, lists a verified delivery and redelivers it', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      await page.goto(`${server.origin}/settings/webhooks`);
      await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
      await page.getByText('You have no webhooks yet.').waitFor();

      await page.getByRole('button', { name: 'New Webhook' }).click();
      const form = page.getByRole('dialog', { name: 'New webhook' });
      await form.getByLabel('Payload URL').fill(receiver.url);
      await form.getByLabel('Description (optional)').fill('audit sink');
      await form.getByRole('button', { name: 'Create Webhook' }).click();

      const shown = page.getByRole('dialog', { name: 'Webhook created' });
      const field = shown.getByLabel('Your new signing secret');
      secret = await field.inputValue();
      expect(secret).toMatch(/^whsec_/);
      await screenshot(page, 'webhook-created');
      // Closing without copying asks first; the secret is gone once closed.
      await shown.getByRole('button', { name: 'Done' }).click();
      await shown.getByRole('button', { name: 'Close without copying' }).click();
      await shown.waitFor({ state: 'detached' });
      const row = page.getByRole('row', { name: /audit sink/ });
      await row.waitFor();
      expect(await row.textContent()).toContain('Active');

      // A token event reaches the receiver, signed so the reference library verifies it.
      const token = await api.createToken('webhook-page');
      await expect.poll(() => receiver.received.length, { timeout: 20_000 }).toBe(1);
      const [first] = receiver.received;
      expect(first!.error).toBeUndefined();
      expect(first!.payload).toMatchObject({ type: 'token.created', data: { tokenId: token.token.id, name: 'webhook-page' } });

      await row.getByRole('button', { name: /^Deliveries of/ }).click();
      const deliveries = page.getByRole('region', { name: `Deliveries of ${receiver.url}` });
      const delivery = deliveries.getByRole('row', { name: /token\.created/ });
      await expect
        .poll(async () => {
          await deliveries.getByRole('button', { name: 'Refresh' }).click();
          return (await delivery.count()) === 1 ? await delivery.textContent() : '';
        }, { timeout: 20_000 })
        .toContain('Delivered');
      expect(await delivery.textContent()).toContain('204');
      await screenshot(page, 'webhook-deliveries');

      await delivery.getByRole('button', { name: /^Redeliver/ }).click();
      await expect.poll(() => receiver.received.length, { timeout: 20_000 }).toBe(2);
      const second = receiver.received[1]!;
      expect(second.error).toBeUndefined();
      expect(second.headers['webhook-id']).toBe(first!.headers['webhook-id']);
      await expect
        .poll(async () => {
          await deliveries.getByRole('button', { name: 'Refresh' }).click();
          return delivery.getByRole('cell').nth(3).textContent();
        }, { timeout: 20_000 })
        .toBe('2');

      // The secret is never shown again.
      await page.reload();
      await page.getByRole('row', { name: /audit sink/ }).waitFor();
      expect(await page.content()).not.toContain(secret.slice('whsec_'.length));
    } finally {
      await context.close();
    }
  });
});
