/**
 * New Token → a name, its permissions (a preset or a custom choice of scopes), an expiration,
 * and under Advanced its namespaces, the addresses it may be used from and a note → Generate →
 * the secret, once. Closing the dialog unmounts it and the secret with it; before discarding a
 * secret nobody copied, it asks. The expiration choices are the server's (GET
 * /api/v1/token-settings), so the dialog never offers a lifetime the server would refuse.
 *
 * A name and Generate is still enough: the permissions start at Full access. The request always
 * names its scopes (the console sends an explicit choice); namespaces and allowed addresses only
 * when filled in.
 */
import {
  ADMIN_SCOPES,
  DEFAULT_TOKEN_SCOPES,
  SCOPE_DESCRIPTIONS,
  TOKEN_NAME_MAX_LENGTH,
  TOKEN_NOTE_MAX_LENGTH,
  TOKEN_SCOPES,
  type CreateTokenRequest,
  type CreateTokenResponse,
  type TokenScope,
  type TokenSettingsView,
} from '@latchkey/contract';
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, api, errorMessage } from '../api.js';
import { useQuery } from '../query.js';
import { ExpirationPicker, defaultExpiration, expirationRequest, type Expiration } from './expiration-picker.js';
import { DialogActions, FormError } from './form-parts.js';
import { LoadError, Loading } from './list-states.js';
import { Modal } from './modal.js';
import { ShownOnceDialog } from './shown-once-dialog.js';

export interface NewTokenDialogProps {
  onClose: () => void;
  /** Whether the signed-in account is an administrator: only then are admin:* scopes offered. */
  isAdmin?: boolean;
  /** Called once the token exists (the list reloads). */
  onCreated: (created: CreateTokenResponse) => void;
  /** For tests: the clock the expiration preview uses. */
  now?: number;
  create?: (input: CreateTokenRequest) => Promise<CreateTokenResponse>;
  /** The lifetimes and scopes on offer; without `allowedScopes` (an older server) every scope. */
  loadSettings?: () => Promise<DialogSettings>;
  /** The settings' query key (another key for another kind of token, such as a service account's). */
  settingsKey?: string;
  /** The dialog's titles, for a token that is not a personal one. */
  title?: string;
  createdTitle?: string;
}

export const TOKEN_SETTINGS_KEY = 'token-settings';

export type DialogSettings = Omit<TokenSettingsView, 'allowedScopes'> & { allowedScopes?: TokenScope[] };

export type PresetId = 'full' | 'read' | 'preview' | 'custom';

interface Preset {
  id: Exclude<PresetId, 'custom'>;
  label: string;
  description: string;
  scopes: readonly TokenScope[];
  /** The namespace patterns the preset fills in under Advanced. */
  namespaces?: readonly string[];
}

/** The permission presets, in the order the dialog offers them (Custom comes last). */
export const PRESETS: readonly Preset[] = [
  {
    id: 'full',
    label: 'Full access',
    description: 'Namespaces and tokens, read and write (not introspection or the admin API).',
    scopes: DEFAULT_TOKEN_SCOPES,
  },
  { id: 'read', label: 'Read only', description: 'List namespaces and tokens; change nothing.', scopes: ['namespaces:read', 'tokens:read'] },
  {
    id: 'preview',
    label: 'Preview environments',
    description: 'Create and delete namespaces named preview-…, and nothing else.',
    scopes: ['namespaces:read', 'namespaces:write'],
    namespaces: ['preview-*'],
  },
];

/** Entries of a list field: separated by commas or new lines, trimmed, empty ones dropped. */
export function listEntries(text: string, separators: RegExp = /[,\n]/): string[] {
  return text
    .split(separators)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

interface Errors {
  name?: string;
  note?: string;
  expiration?: string;
  scopes?: string;
  namespaces?: string;
  allowedIps?: string;
  form?: string;
}

export function NewTokenDialog({
  onClose,
  isAdmin = false,
  onCreated,
  now = Date.now(),
  create = api.createToken,
  loadSettings = api.tokenSettings,
  settingsKey = TOKEN_SETTINGS_KEY,
  title = 'New personal access token',
  createdTitle = 'Your new personal access token',
}: NewTokenDialogProps) {
  const nameId = useId();
  const nameErrorId = useId();
  const [name, setName] = useState('');
  const noteId = useId();
  const noteErrorId = useId();
  const [note, setNote] = useState('');
  const [chosenPreset, setPreset] = useState<PresetId>();
  const [chosenScopes, setCustomScopes] = useState<readonly TokenScope[]>();
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const [namespaces, setNamespaces] = useState('');
  const [allowedIps, setAllowedIps] = useState('');
  const settings = useQuery(settingsKey, loadSettings);
  // The server's policy may allow only some scopes: only those are offered.
  const allowedScopes = settings.data?.allowedScopes ?? TOKEN_SCOPES;
  const preset = chosenPreset ?? firstAllowedPreset(allowedScopes);
  const customScopes = chosenScopes ?? DEFAULT_TOKEN_SCOPES.filter((scope) => allowedScopes.includes(scope));
  const [chosen, setExpiration] = useState<Expiration>();
  // Until the person picks one: the server's default (without settings, the server picks it).
  const expiration = chosen ?? (settings.data && defaultExpiration(settings.data));
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreateTokenResponse>();

  const requestClose = () => {
    if (!busy) onClose();
  };

  const presetOf = (id: PresetId) => PRESETS.find((candidate) => candidate.id === id);
  const scopes = presetOf(preset)?.scopes ?? customScopes;

  const choosePreset = (id: PresetId) => {
    const previous = presetOf(preset);
    const next = presetOf(id);
    // Custom starts from what was chosen so far.
    if (id === 'custom' && previous) setCustomScopes(previous.scopes.filter((scope) => allowedScopes.includes(scope)));
    // A preset's namespaces replace the previous preset's, never what the person typed.
    const untouched = namespaces.trim() === '' || namespaces === (previous?.namespaces ?? []).join(', ');
    if (untouched && id !== 'custom') setNamespaces((next?.namespaces ?? []).join(', '));
    setPreset(id);
  };

  const toggleScope = (scope: TokenScope, on: boolean) =>
    setCustomScopes(TOKEN_SCOPES.filter((candidate) => (candidate === scope ? on : customScopes.includes(candidate))));

  const namespaceList = listEntries(namespaces);
  const allowedIpList = listEntries(allowedIps, /[,\s]+/);

  const generate = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const request: CreateTokenRequest = {
        name,
        // Sent only when filled in: an empty note is no note.
        ...(note.trim() !== '' && { note }),
        scopes: [...scopes],
        ...(namespaceList.length > 0 && { namespaces: namespaceList }),
        ...(allowedIpList.length > 0 && { allowedIps: allowedIpList }),
        ...(expiration && expirationRequest(expiration)),
      };
      const response = await create(request);
      setCreated(response);
      onCreated(response);
    } catch (failure) {
      const found = errorsOf(failure, { scopes, namespaces: namespaceList, allowedIps: allowedIpList });
      setErrors(found);
      // A refused advanced field must be seen: open the disclosure it is in.
      if (found.namespaces || found.allowedIps || found.note) setAdvancedOpen(true);
    } finally {
      setBusy(false);
    }
  };

  if (created) return <ShownOnceDialog title={createdTitle} created={created} onClose={onClose} />;

  return (
    <Modal title={title} onClose={requestClose}>
      <form onSubmit={generate} noValidate>
        <div className="field">
          <label htmlFor={nameId}>Name</label>
          <input
            id={nameId}
            value={name}
            maxLength={TOKEN_NAME_MAX_LENGTH * 2}
            autoComplete="off"
            required
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={`${nameId}-hint${errors.name ? ` ${nameErrorId}` : ''}`}
            onChange={(event) => setName(event.target.value)}
          />
          <p id={`${nameId}-hint`} className="hint">
            What is this token for? For example “CI preview environments”.
          </p>
          {errors.name && (
            <p id={nameErrorId} className="field-error">
              {errors.name}
            </p>
          )}
        </div>
        <Permissions
          preset={preset}
          onPreset={choosePreset}
          customScopes={customScopes}
          onScope={toggleScope}
          isAdmin={isAdmin}
          allowedScopes={allowedScopes}
          error={errors.scopes}
        />
        {settings.data && expiration ? (
          <ExpirationPicker value={expiration} onChange={setExpiration} settings={settings.data} now={now} error={errors.expiration} />
        ) : settings.status === 'error' ? (
          <LoadError what="the expiration choices" error={settings.error} onRetry={settings.reload} />
        ) : (
          <Loading what="the expiration choices" />
        )}
        <details className="advanced" open={advancedOpen} onToggle={(event) => setAdvancedOpen(event.currentTarget.open)}>
          <summary>Advanced</summary>
          {/* Mounted only while open (the values live in the dialog): closed, it holds nothing to find or fill. */}
          {advancedOpen && (
            <>
              <TextAreaField
                label="Namespaces"
                value={namespaces}
                onChange={setNamespaces}
                error={errors.namespaces}
                hint={
                  <>
                    Names, or prefixes ending in <code>*</code> (<code>preview-*</code>), separated by commas or new lines.
                    Empty: every namespace.
                  </>
                }
              />
              <TextAreaField
                label="Allowed IP addresses"
                value={allowedIps}
                onChange={setAllowedIps}
                error={errors.allowedIps}
                hint={
                  <>
                    One address or CIDR range per line (<code>10.0.0.0/8</code>, <code>2001:db8::/32</code>). Empty: anywhere.
                  </>
                }
              />
              <div className="field">
                <label htmlFor={noteId}>Note</label>
                <input
                  id={noteId}
                  value={note}
                  maxLength={TOKEN_NOTE_MAX_LENGTH}
                  autoComplete="off"
                  aria-invalid={errors.note ? true : undefined}
                  aria-describedby={`${noteId}-hint${errors.note ? ` ${noteErrorId}` : ''}`}
                  onChange={(event) => setNote(event.target.value)}
                />
                <p id={`${noteId}-hint`} className="hint">
                  Where is this token used?
                </p>
                {errors.note && (
                  <p id={noteErrorId} className="field-error">
                    {errors.note}
                  </p>
                )}
              </div>
            </>
          )}
        </details>
        <FormError message={errors.form} />
        <DialogActions busy={busy} onCancel={requestClose} label="Generate" />
      </form>
    </Modal>
  );
}

function Permissions({
  preset,
  onPreset,
  customScopes,
  onScope,
  isAdmin,
  allowedScopes,
  error,
}: {
  preset: PresetId;
  onPreset: (id: PresetId) => void;
  customScopes: readonly TokenScope[];
  onScope: (scope: TokenScope, on: boolean) => void;
  isAdmin: boolean;
  allowedScopes: readonly TokenScope[];
  error: string | undefined;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const offered = TOKEN_SCOPES.filter((scope) => (isAdmin || !ADMIN_SCOPES.includes(scope)) && allowedScopes.includes(scope));
  const choices: Array<{ id: PresetId; label: string; description: string; disallowed?: readonly TokenScope[] }> = [
    ...PRESETS.map((choice) => ({ ...choice, disallowed: disallowedScopes(choice, allowedScopes) })),
    { id: 'custom', label: 'Custom', description: 'Choose the scopes yourself.' },
  ];
  return (
    <fieldset className="field permissions" aria-describedby={error ? errorId : undefined}>
      <legend>Permissions</legend>
      {choices.map((choice) => (
        <div key={choice.id} className="choice">
          <input
            type="radio"
            id={`${id}-${choice.id}`}
            name={`${id}-preset`}
            value={choice.id}
            checked={preset === choice.id}
            disabled={(choice.disallowed?.length ?? 0) > 0}
            aria-describedby={`${id}-${choice.id}-hint`}
            onChange={() => onPreset(choice.id)}
          />
          <label htmlFor={`${id}-${choice.id}`}>{choice.label}</label>
          <p id={`${id}-${choice.id}-hint`} className="hint">
            {choice.description}
            {(choice.disallowed?.length ?? 0) > 0 && (
              <>
                {' '}
                <span className="policy-note">Not available: this server’s policy does not allow {choice.disallowed!.join(', ')} on personal tokens.</span>
              </>
            )}
          </p>
        </div>
      ))}
      {preset === 'custom' && (
        <fieldset className="scopes">
          <legend className="visually-hidden">Scopes</legend>
          {offered.map((scope) => (
            <div key={scope} className="choice">
              <input
                type="checkbox"
                id={`${id}-${scope}`}
                checked={customScopes.includes(scope)}
                aria-describedby={`${id}-${scope}-hint`}
                onChange={(event) => onScope(scope, event.target.checked)}
              />
              <label htmlFor={`${id}-${scope}`}>
                <code>{scope}</code>
              </label>
              <p id={`${id}-${scope}-hint`} className="hint">
                {SCOPE_DESCRIPTIONS[scope]}
              </p>
            </div>
          ))}
        </fieldset>
      )}
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </fieldset>
  );
}

/** The scopes a preset needs that the policy does not allow (none: the preset may be chosen). */
export function disallowedScopes(preset: Preset, allowedScopes: readonly TokenScope[]): TokenScope[] {
  return preset.scopes.filter((scope) => !allowedScopes.includes(scope));
}

/** The first preset the policy allows, else Custom. */
function firstAllowedPreset(allowedScopes: readonly TokenScope[]): PresetId {
  return PRESETS.find((preset) => disallowedScopes(preset, allowedScopes).length === 0)?.id ?? 'custom';
}

function TextAreaField({
  label,
  value,
  onChange,
  hint,
  error,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  hint: ReactNode;
  error: string | undefined;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        value={value}
        rows={2}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
        onChange={(event) => onChange(event.target.value)}
      />
      <p id={`${id}-hint`} className="hint">
        {hint}
      </p>
      {error && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

/**
 * The messages the server gave for one list field: `/namespaces` itself, or `/namespaces/1` (an
 * entry, named by what was typed so the person finds it).
 */
function listFieldErrors(failure: ApiError, field: string, label: string, sent: readonly string[]): { message?: string; count: number } {
  const messages: string[] = [];
  for (const error of failure.errors) {
    if (error.pointer === `/${field}`) {
      messages.push(`${label} ${error.detail}.`);
      continue;
    }
    const entry = new RegExp(`^/${field}/(\\d+)$`).exec(error.pointer ?? '');
    if (!entry) continue;
    const index = Number(entry[1]);
    const value = sent[index];
    messages.push(value === undefined ? `${label} entry ${index + 1} ${error.detail}.` : `“${value}” ${error.detail}.`);
  }
  return { message: messages.length > 0 ? messages.join(' ') : undefined, count: messages.length };
}

/** Server validation messages, placed at their fields (`/name`, `/expiresAt`, `/allowedIps/0` …). */
function errorsOf(
  failure: unknown,
  sent: { scopes: readonly string[]; namespaces: readonly string[]; allowedIps: readonly string[] },
): Errors {
  if (!(failure instanceof ApiError)) return { form: errorMessage(failure) };
  if (failure.code === 'CONFLICT') return { name: failure.detail ?? 'A token with this name already exists.' };
  if (failure.code === 'VALIDATION_FAILED') {
    const name = failure.fieldError('/name');
    const note = failure.fieldError('/note');
    const expiration = failure.fieldError('/expiresAt') ?? failure.fieldError('/expiresInDays');
    const scopes = listFieldErrors(failure, 'scopes', 'Permissions', sent.scopes);
    const namespaces = listFieldErrors(failure, 'namespaces', 'Namespaces', sent.namespaces);
    const allowedIps = listFieldErrors(failure, 'allowedIps', 'Allowed IP addresses', sent.allowedIps);
    const placed = [name, note, expiration].filter(Boolean).length + scopes.count + namespaces.count + allowedIps.count;
    const rest = failure.errors.length > placed ? errorMessage(failure) : undefined;
    return {
      name: name && `Name ${name}.`,
      note: note && `Note ${note}.`,
      expiration: expiration && `Expiration ${expiration}.`,
      scopes: scopes.message,
      namespaces: namespaces.message,
      allowedIps: allowedIps.message,
      form: rest ?? (placed === 0 ? errorMessage(failure) : undefined),
    };
  }
  return { form: errorMessage(failure) };
}
