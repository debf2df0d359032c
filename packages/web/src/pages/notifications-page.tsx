/**
 * Settings › Notifications (/settings/notifications): which emails this account receives about
 * its tokens (GET/PUT /api/v1/me/notifications). Each switch is saved as soon as it changes; the
 * page says where the emails go, or that this server sends none.
 */
import type { NotificationPreferences, NotificationSettings } from '@latchkey/contract';
import { useId, useState } from 'react';
import { api, errorMessage } from '../api.js';
import { FormError } from '../components/form-parts.js';
import { LoadError, Loading } from '../components/list-states.js';
import { invalidate, useQuery } from '../query.js';

export const NOTIFICATIONS_KEY = 'notifications';

export interface NotificationsClient {
  notificationSettings: typeof api.notificationSettings;
  updateNotifications: typeof api.updateNotifications;
}

const KINDS: Array<{ key: keyof NotificationPreferences; label: string; hint: string }> = [
  { key: 'expiry', label: 'A token is about to expire', hint: '30 days, 7 days and 1 day before, and on the day.' },
  { key: 'revoked', label: 'A token was revoked for you', hint: 'By an administrator, or because its secret was reported leaked.' },
  { key: 'ipRefused', label: 'A token was refused outside its IP allowlist', hint: 'Once per address it was presented from.' },
  { key: 'newAddress', label: 'A token was used from a new address', hint: 'The first use from each address after the first one. Off unless you turn it on.' },
];

export function NotificationsPage({ client = api }: { client?: NotificationsClient }) {
  const settings = useQuery(NOTIFICATIONS_KEY, client.notificationSettings);
  return (
    <>
      <h1>Notifications</h1>
      <p className="lead">Emails about your tokens, each naming the token, where it is used and a link to regenerate it. Secrets are never sent.</p>
      {settings.data ? (
        <NotificationsForm settings={settings.data} client={client} />
      ) : settings.status === 'error' ? (
        <LoadError what="your notification settings" error={settings.error} onRetry={settings.reload} />
      ) : (
        <Loading what="your notification settings" />
      )}
    </>
  );
}

function deliveryLine(settings: NotificationSettings): string {
  if (!settings.emailConfigured) return 'This server does not send email: its administrator has not configured SMTP. Your choices apply once it does.';
  if (!settings.sendTo) return 'Your account has no email address, so no email can be sent to you.';
  return `Emails go to ${settings.sendTo}.`;
}

function NotificationsForm({ settings, client }: { settings: NotificationSettings; client: NotificationsClient }) {
  const id = useId();
  const [preferences, setPreferences] = useState(settings.preferences);
  const [saving, setSaving] = useState<keyof NotificationPreferences>();
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string>();

  const change = async (key: keyof NotificationPreferences, value: boolean) => {
    // Shown at once, put back if the save fails.
    const before = preferences;
    setPreferences({ ...preferences, [key]: value });
    setSaving(key);
    setStatus('');
    setError(undefined);
    try {
      const saved = await client.updateNotifications({ [key]: value });
      setPreferences(saved.preferences);
      setStatus('Saved.');
      invalidate(NOTIFICATIONS_KEY);
    } catch (failure) {
      setPreferences(before);
      setError(errorMessage(failure));
    } finally {
      setSaving(undefined);
    }
  };

  return (
    <form aria-label="Email notifications" onSubmit={(event) => event.preventDefault()}>
      <p data-testid="email-delivery" className="hint">
        {deliveryLine(settings)}
      </p>
      <fieldset className="field">
        <legend>Email me when</legend>
        {KINDS.map(({ key, label, hint }) => (
          <div key={key} className="choice">
            <input
              type="checkbox"
              id={`${id}-${key}`}
              checked={preferences[key]}
              disabled={saving !== undefined}
              aria-describedby={`${id}-${key}-hint`}
              onChange={(event) => void change(key, event.target.checked)}
            />
            <label htmlFor={`${id}-${key}`}>{label}</label>
            <p id={`${id}-${key}-hint`} className="hint">
              {hint}
            </p>
          </div>
        ))}
      </fieldset>
      <FormError message={error} />
      <p className="form-status" role="status" aria-live="polite">
        {status}
      </p>
    </form>
  );
}
