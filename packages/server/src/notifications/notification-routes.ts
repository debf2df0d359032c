/** The caller's email switches: which notifications they receive (docs/notifications.md). */
import { notificationSettingsSchema, updateNotificationPreferencesSchema } from '@latchkey/contract';
import { principalOf } from '../http/principal.js';
import type { ZodApp } from '../http/zod-app.js';
import type { NotificationService } from './notification-service.js';

export function registerNotificationRoutes(app: ZodApp, { notifications }: { notifications: NotificationService }): void {
  app.get(
    '/api/v1/me/notifications',
    {
      config: { auth: 'either', scope: 'any' },
      schema: {
        summary: "The caller's email notification switches, and whether this server sends email",
        tags: ['account'],
        response: { 200: notificationSettingsSchema },
      },
    },
    async (request) => notifications.settings(principalOf(request).account.id),
  );

  app.put(
    '/api/v1/me/notifications',
    {
      config: { auth: 'either', scope: 'any' },
      schema: {
        summary: "Change the caller's email notification switches (those not named keep their value)",
        tags: ['account'],
        body: updateNotificationPreferencesSchema,
        response: { 200: notificationSettingsSchema },
      },
    },
    async (request) => notifications.updatePreferences(principalOf(request).account.id, request.body),
  );
}
