/**
 * Email notification preferences (`GET/PUT /api/v1/me/notifications`): one switch per kind of
 * email. Expiry warnings, revocations and allowlist refusals are on until turned off; "first use
 * from a new address" is off until turned on (it can be noisy for a token used from many hosts).
 */
import { z } from 'zod';

export const notificationPreferencesSchema = z.strictObject({
  /** The token expires in 30, 7 or 1 day(s), or today. */
  expiry: z.boolean(),
  /** The token was revoked by an administrator or because it was reported leaked. */
  revoked: z.boolean(),
  /** The token was presented from an address outside its IP allowlist (once per address). */
  ipRefused: z.boolean(),
  /** The token was used from an address it had not been used from before (opt-in). */
  newAddress: z.boolean(),
});
export type NotificationPreferences = z.infer<typeof notificationPreferencesSchema>;

export const DEFAULT_NOTIFICATION_PREFERENCES: NotificationPreferences = {
  expiry: true,
  revoked: true,
  ipRefused: true,
  newAddress: false,
};

/** A PUT may name only the switches it changes; the others keep their value. */
export const updateNotificationPreferencesSchema = notificationPreferencesSchema.partial();
export type UpdateNotificationPreferences = z.infer<typeof updateNotificationPreferencesSchema>;

export const notificationSettingsSchema = z.object({
  preferences: notificationPreferencesSchema,
  /** Whether this server sends email at all (SMTP_URL is set); without it nothing is sent. */
  emailConfigured: z.boolean(),
  /** Where the emails go: the account's email address, or null when it has none. */
  sendTo: z.string().nullable(),
});
export type NotificationSettings = z.infer<typeof notificationSettingsSchema>;
