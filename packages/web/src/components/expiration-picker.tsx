/**
 * The token lifetime: one of the server's choices of days (GET /api/v1/token-settings: the
 * presets up to TOKEN_MAX_LIFETIME_DAYS, and that maximum) or a calendar date up to the maximum,
 * always shown as the date it turns into.
 */
import { DAY_MS, type CreateTokenRequest, type TokenSettingsView } from '@latchkey/contract';
import { useId } from 'react';
import { formatDate, toDateInputValue } from '../time.js';

export type Expiration = { kind: 'days'; days: number } | { kind: 'date'; date: string };

/** The date a custom expiration starts at: 30 days ahead, or the maximum when that is sooner. */
const CUSTOM_DATE_START_DAYS = 30;

/** What the dialog starts with: the server's default lifetime. */
export function defaultExpiration(settings: TokenSettingsView): Expiration {
  return { kind: 'days', days: settings.defaultLifetimeDays };
}

/** Local midnight at the start of a `YYYY-MM-DD` date, as epoch ms; NaN when incomplete. */
function startOfLocalDate(date: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  return match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])).getTime() : Number.NaN;
}

/** When a token created `now` with this choice expires (epoch ms, NaN if no date yet). */
export function expiresAtOf(expiration: Expiration, now: number): number {
  return expiration.kind === 'days' ? now + expiration.days * DAY_MS : startOfLocalDate(expiration.date);
}

/** The request fields for this choice. */
export function expirationRequest(expiration: Expiration): Pick<CreateTokenRequest, 'expiresInDays' | 'expiresAt'> {
  if (expiration.kind === 'days') return { expiresInDays: expiration.days };
  const at = startOfLocalDate(expiration.date);
  return { expiresAt: Number.isNaN(at) ? expiration.date : new Date(at).toISOString() };
}

export interface ExpirationPickerProps {
  value: Expiration;
  onChange: (value: Expiration) => void;
  /** The lifetimes this server allows. */
  settings: TokenSettingsView;
  now: number;
  error?: string;
}

export function ExpirationPicker({ value, onChange, settings, now, error }: ExpirationPickerProps) {
  const selectId = useId();
  const dateId = useId();
  const hintId = useId();
  const errorId = useId();
  const expiresAt = expiresAtOf(value, now);
  const describedBy = [hintId, error ? errorId : undefined].filter(Boolean).join(' ');

  return (
    <div className="field">
      <label htmlFor={selectId}>Expiration</label>
      <select
        id={selectId}
        value={value.kind === 'days' ? String(value.days) : 'date'}
        aria-describedby={describedBy}
        aria-invalid={error ? true : undefined}
        onChange={(event) =>
          onChange(
            event.target.value === 'date'
              ? { kind: 'date', date: toDateInputValue(now + Math.min(CUSTOM_DATE_START_DAYS, settings.maxLifetimeDays) * DAY_MS) }
              : { kind: 'days', days: Number(event.target.value) },
          )
        }
      >
        {settings.lifetimeChoices.map((days) => (
          <option key={days} value={days}>
            {`${days} ${days === 1 ? 'day' : 'days'}${days === settings.defaultLifetimeDays ? ' (default)' : ''}`}
          </option>
        ))}
        <option value="date">Custom date…</option>
      </select>
      {value.kind === 'date' && (
        <>
          <label htmlFor={dateId}>Expiration date</label>
          <input
            id={dateId}
            type="date"
            value={value.date}
            min={toDateInputValue(now + DAY_MS)}
            max={toDateInputValue(now + settings.maxLifetimeDays * DAY_MS)}
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={describedBy}
            onChange={(event) => onChange({ kind: 'date', date: event.target.value })}
          />
        </>
      )}
      <p id={hintId} className="hint">
        {Number.isNaN(expiresAt) ? 'Pick the date the token expires.' : `The token will expire on ${formatDate(expiresAt)}.`}
      </p>
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}
