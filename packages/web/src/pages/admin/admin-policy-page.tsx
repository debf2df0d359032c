/**
 * Admin › Policy (/admin/policy): the instance policy every new token follows — the longest
 * lifetime of a personal token and of a service account's token, the scopes personal tokens may
 * carry, and after how many idle days tokens are revoked. The saved values are shown; the form
 * checks each field before sending the whole policy (PUT /api/v1/admin/policy).
 */
import { ADMIN_SCOPES, SCOPE_DESCRIPTIONS, TOKEN_LIFETIME_LIMIT_DAYS, TOKEN_SCOPES, type PolicyView, type TokenScope } from '@latchkey/contract';
import { useId, useState, type FormEvent } from 'react';
import { ApiError, api, errorMessage } from '../../api.js';
import { FormError } from '../../components/form-parts.js';
import { LoadError, Loading } from '../../components/list-states.js';
import { TOKEN_SETTINGS_KEY } from '../../components/new-token-dialog.js';
import { invalidate, useQuery } from '../../query.js';
import { formatDateTime } from '../../time.js';
import { ADMIN_KEY } from './admin-common.js';

export interface AdminPolicyClient {
  getPolicy: typeof api.admin.getPolicy;
  setPolicy: typeof api.admin.setPolicy;
}

/** Scopes a personal token may be allowed: admin scopes stay an administrator's whatever the policy says. */
const POLICY_SCOPES = TOKEN_SCOPES;

interface Draft {
  maxLifetimeDays: string;
  serviceMaxLifetimeDays: string;
  personalScopes: TokenScope[];
  idleRevokeDays: string;
}

type Field = keyof Draft;
type Errors = Partial<Record<Field | 'form', string>>;

const draftOf = (policy: PolicyView): Draft => ({
  maxLifetimeDays: String(policy.maxLifetimeDays),
  serviceMaxLifetimeDays: policy.serviceMaxLifetimeDays === null ? '' : String(policy.serviceMaxLifetimeDays),
  personalScopes: [...policy.personalScopes],
  idleRevokeDays: policy.idleRevokeDays === null ? '' : String(policy.idleRevokeDays),
});

/** A whole number of days 1–3650, or the problem; `optional`: empty means none. */
export function daysProblem(text: string, optional: boolean): string | undefined {
  const value = text.trim();
  if (value === '') return optional ? undefined : 'Enter a number of days.';
  if (!/^\d+$/.test(value)) return 'Enter a whole number of days.';
  const days = Number(value);
  if (days < 1) return 'Must be at least 1 day.';
  if (days > TOKEN_LIFETIME_LIMIT_DAYS) return `Must be at most ${TOKEN_LIFETIME_LIMIT_DAYS} days.`;
  return undefined;
}

/** The request for a checked draft, or the problems found. */
export function validatePolicy(draft: Draft): { policy?: Omit<PolicyView, 'updatedAt'>; errors: Errors } {
  const errors: Errors = {
    maxLifetimeDays: daysProblem(draft.maxLifetimeDays, false),
    serviceMaxLifetimeDays: daysProblem(draft.serviceMaxLifetimeDays, true),
    idleRevokeDays: daysProblem(draft.idleRevokeDays, true),
    personalScopes: draft.personalScopes.length === 0 ? 'Allow at least one scope.' : undefined,
  };
  if (Object.values(errors).some(Boolean)) return { errors };
  const optional = (text: string) => (text.trim() === '' ? null : Number(text.trim()));
  return {
    errors: {},
    policy: {
      maxLifetimeDays: Number(draft.maxLifetimeDays.trim()),
      serviceMaxLifetimeDays: optional(draft.serviceMaxLifetimeDays),
      personalScopes: POLICY_SCOPES.filter((scope) => draft.personalScopes.includes(scope)),
      idleRevokeDays: optional(draft.idleRevokeDays),
    },
  };
}

export function AdminPolicyPage({ client = api.admin }: { client?: AdminPolicyClient }) {
  const policy = useQuery(`${ADMIN_KEY}/policy`, client.getPolicy);
  // Here, not in the form: the form starts afresh from each saved policy (keyed by updatedAt).
  const [status, setStatus] = useState('');
  return (
    <>
      <h1>Policy</h1>
      <p className="lead">The rules every new token on this server follows. Changes apply to tokens created from now on, on every instance.</p>
      {policy.data ? (
        <>
          <SavedPolicy policy={policy.data} />
          <PolicyForm key={policy.data.updatedAt ?? 'defaults'} saved={policy.data} client={client} status={status} onStatus={setStatus} />
        </>
      ) : policy.status === 'error' ? (
        <LoadError what="the policy" error={policy.error} onRetry={policy.reload} />
      ) : (
        <Loading what="the policy" />
      )}
    </>
  );
}

const days = (value: number) => `${value} ${value === 1 ? 'day' : 'days'}`;

function SavedPolicy({ policy }: { policy: PolicyView }) {
  return (
    <section aria-labelledby="saved-policy-title" className="saved-policy">
      <h2 id="saved-policy-title">In force</h2>
      <dl className="details">
        <dt>Personal token lifetime</dt>
        <dd data-testid="saved-max-lifetime">at most {days(policy.maxLifetimeDays)}</dd>
        <dt>Service account token lifetime</dt>
        <dd data-testid="saved-service-max-lifetime">
          {policy.serviceMaxLifetimeDays === null ? `no maximum (up to ${TOKEN_LIFETIME_LIMIT_DAYS} days)` : `at most ${days(policy.serviceMaxLifetimeDays)}`}
        </dd>
        <dt>Scopes of personal tokens</dt>
        <dd data-testid="saved-personal-scopes">{policy.personalScopes.join(', ')}</dd>
        <dt>Idle tokens</dt>
        <dd data-testid="saved-idle-revoke">
          {policy.idleRevokeDays === null ? 'never revoked' : `revoked after ${days(policy.idleRevokeDays)} unused`}
        </dd>
        <dt>Last changed</dt>
        <dd>{policy.updatedAt ? formatDateTime(policy.updatedAt) : 'never (the server’s defaults)'}</dd>
      </dl>
    </section>
  );
}

function PolicyForm({
  saved,
  client,
  status,
  onStatus: setStatus,
}: {
  saved: PolicyView;
  client: AdminPolicyClient;
  /** "Policy saved." after a save, until the next change. */
  status: string;
  onStatus: (status: string) => void;
}) {
  const id = useId();
  const [draft, setDraft] = useState<Draft>(() => draftOf(saved));
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);

  const set = (field: Field, value: Draft[Field]) => {
    setStatus('');
    setDraft((current) => ({ ...current, [field]: value }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { policy, errors: found } = validatePolicy(draft);
    setErrors(found);
    setStatus('');
    if (!policy) return;
    setBusy(true);
    try {
      await client.setPolicy(policy);
      setStatus('Policy saved.');
      invalidate(`${ADMIN_KEY}/policy`);
      invalidate(TOKEN_SETTINGS_KEY);
      invalidate(`${ADMIN_KEY}/service-token-settings`);
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === 'VALIDATION_FAILED') {
        const at = (field: Field) => failure.fieldError(`/${field}`);
        const placed: Errors = {
          maxLifetimeDays: at('maxLifetimeDays'),
          serviceMaxLifetimeDays: at('serviceMaxLifetimeDays'),
          personalScopes: at('personalScopes') ?? failure.errors.find((error) => error.pointer?.startsWith('/personalScopes/'))?.detail,
          idleRevokeDays: at('idleRevokeDays'),
        };
        setErrors({ ...placed, form: Object.values(placed).some(Boolean) ? undefined : errorMessage(failure) });
      } else setErrors({ form: errorMessage(failure) });
    } finally {
      setBusy(false);
    }
  };

  const daysField = (field: 'maxLifetimeDays' | 'serviceMaxLifetimeDays' | 'idleRevokeDays', label: string, hint: string, placeholder?: string) => (
    <div className="field">
      <label htmlFor={`${id}-${field}`}>{label}</label>
      <input
        id={`${id}-${field}`}
        inputMode="numeric"
        value={draft[field]}
        placeholder={placeholder}
        autoComplete="off"
        aria-invalid={errors[field] ? true : undefined}
        aria-describedby={`${id}-${field}-hint${errors[field] ? ` ${id}-${field}-error` : ''}`}
        onChange={(event) => set(field, event.target.value)}
      />
      <p id={`${id}-${field}-hint`} className="hint">
        {hint}
      </p>
      {errors[field] && (
        <p id={`${id}-${field}-error`} className="field-error">
          {errors[field]}
        </p>
      )}
    </div>
  );

  return (
    <form onSubmit={submit} noValidate aria-label="Change the policy" className="policy-form">
      <h2>Change</h2>
      {daysField(
        'maxLifetimeDays',
        'Maximum lifetime of personal tokens (days)',
        `The longest a personal token may be valid, 1–${TOKEN_LIFETIME_LIMIT_DAYS}. The New Token dialog offers nothing longer; existing tokens keep their expiry.`,
      )}
      {daysField(
        'serviceMaxLifetimeDays',
        'Maximum lifetime of service account tokens (days)',
        `The longest a token minted for a service account may be valid, 1–${TOKEN_LIFETIME_LIMIT_DAYS}. Empty: no maximum beyond ${TOKEN_LIFETIME_LIMIT_DAYS} days.`,
        'No maximum',
      )}
      <fieldset className="field scopes" aria-describedby={`${id}-scopes-hint${errors.personalScopes ? ` ${id}-scopes-error` : ''}`}>
        <legend>Scopes personal tokens may carry</legend>
        <p id={`${id}-scopes-hint`} className="hint">
          Only these are offered when someone creates a personal token. Admin scopes stay limited to administrators whatever is chosen here.
        </p>
        {POLICY_SCOPES.map((scope) => (
          <div key={scope} className="choice">
            <input
              type="checkbox"
              id={`${id}-${scope}`}
              checked={draft.personalScopes.includes(scope)}
              aria-describedby={`${id}-${scope}-hint`}
              onChange={(event) =>
                set(
                  'personalScopes',
                  POLICY_SCOPES.filter((candidate) => (candidate === scope ? event.target.checked : draft.personalScopes.includes(candidate))),
                )
              }
            />
            <label htmlFor={`${id}-${scope}`}>
              <code>{scope}</code>
            </label>
            <p id={`${id}-${scope}-hint`} className="hint">
              {SCOPE_DESCRIPTIONS[scope]}
              {ADMIN_SCOPES.includes(scope) && ' — administrators’ tokens only'}
            </p>
          </div>
        ))}
        {errors.personalScopes && (
          <p id={`${id}-scopes-error`} className="field-error">
            {errors.personalScopes}
          </p>
        )}
      </fieldset>
      {daysField(
        'idleRevokeDays',
        'Revoke tokens unused for (days)',
        `A token not used for this many days is revoked and its owner told, 1–${TOKEN_LIFETIME_LIMIT_DAYS}. Empty: idle tokens are never revoked.`,
        'Never',
      )}
      <FormError message={errors.form} />
      <p className="form-status" role="status" aria-live="polite">
        {status}
      </p>
      <div className="form-actions">
        <button type="submit" disabled={busy} aria-busy={busy || undefined}>
          Save Policy
        </button>
      </div>
    </form>
  );
}
