// @vitest-environment happy-dom
import type { NotificationSettings } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { invalidate } from '../query.js';
import { NOTIFICATIONS_KEY, NotificationsPage, type NotificationsClient } from './notifications-page.js';

afterEach(() => {
  cleanup();
  // The page's query is cached by key: each test starts from its own client's answer.
  invalidate(NOTIFICATIONS_KEY);
});

const DEFAULTS = { expiry: true, revoked: true, ipRefused: true, newAddress: false };

function client(settings: NotificationSettings, update: NotificationsClient['updateNotifications']): NotificationsClient {
  return { notificationSettings: async () => settings, updateNotifications: update };
}

describe('NotificationsPage', () => {
  it('says the server sends no email when SMTP is not configured, and when the account has no address', async () => {
    const update = vi.fn();
    render(<NotificationsPage client={client({ preferences: DEFAULTS, emailConfigured: false, sendTo: 'ada@example.com' }, update)} />);
    expect((await screen.findByTestId('email-delivery')).textContent).toMatch(/^This server does not send email/);
    cleanup();
    invalidate(NOTIFICATIONS_KEY);
    render(<NotificationsPage client={client({ preferences: DEFAULTS, emailConfigured: true, sendTo: null }, update)} />);
    expect((await screen.findByTestId('email-delivery')).textContent).toBe('Your account has no email address, so no email can be sent to you.');
  });

  it('saves one switch at a time and puts it back with the reason when the save fails', async () => {
    const update = vi.fn(async () => {
      throw new ApiError(503, 'UNAVAILABLE', 'Service unavailable', 'The database did not answer.');
    });
    render(<NotificationsPage client={client({ preferences: DEFAULTS, emailConfigured: true, sendTo: 'ada@example.com' }, update)} />);
    const newAddress = (await screen.findByRole('checkbox', { name: 'A token was used from a new address' })) as HTMLInputElement;
    expect(newAddress.checked).toBe(false);
    await act(async () => fireEvent.click(newAddress));
    expect(update).toHaveBeenCalledWith({ newAddress: true });
    expect(newAddress.checked).toBe(false);
    expect(screen.getByRole('alert').textContent).toBe('The server is temporarily unavailable. Try again in a moment.');
  });
});
