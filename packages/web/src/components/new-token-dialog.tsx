/**
 * New Token → a name, an optional note and an expiration → Generate → the secret, once. Closing the dialog
 * unmounts it and the secret with it; before discarding a secret nobody copied, it asks.
 * The expiration choices are the server's (GET /api/v1/token-settings), so the dialog never
 * offers a lifetime the server would refuse.
 */
import { TOKEN_NAME_MAX_LENGTH, TOKEN_NOTE_MAX_LENGTH, type CreateTokenResponse } from '@latchkey/contract';
import { useId, useState, type FormEvent } from 'react';
import { ApiError, api, errorMessage } from '../api.js';
import { useQuery } from '../query.js';
import { formatDate } from '../time.js';
import { ExpirationPicker, defaultExpiration, expirationRequest, type Expiration } from './expiration-picker.js';
import { DialogActions, FormError } from './form-parts.js';
import { LoadError, Loading } from './list-states.js';
import { Modal } from './modal.js';
import { SecretReveal } from './secret-reveal.js';

export interface NewTokenDialogProps {
  onClose: () => void;
  /** Called once the token exists (the list reloads). */
  onCreated: (created: CreateTokenResponse) => void;
  /** For tests: the clock the expiration preview uses. */
  now?: number;
  create?: typeof api.createToken;
  loadSettings?: typeof api.tokenSettings;
}

export const TOKEN_SETTINGS_KEY = 'token-settings';

interface Errors {
  name?: string;
  note?: string;
  expiration?: string;
  form?: string;
}

export function NewTokenDialog({
  onClose,
  onCreated,
  now = Date.now(),
  create = api.createToken,
  loadSettings = api.tokenSettings,
}: NewTokenDialogProps) {
  const nameId = useId();
  const nameErrorId = useId();
  const [name, setName] = useState('');
  const noteId = useId();
  const noteErrorId = useId();
  const [note, setNote] = useState('');
  const settings = useQuery(TOKEN_SETTINGS_KEY, loadSettings);
  const [chosen, setExpiration] = useState<Expiration>();
  // Until the person picks one: the server's default (without settings, the server picks it).
  const expiration = chosen ?? (settings.data && defaultExpiration(settings.data));
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreateTokenResponse>();
  const [copied, setCopied] = useState(false);
  const [confirmingDiscard, setConfirmingDiscard] = useState(false);

  const requestClose = () => {
    if (busy) return;
    if (created && !copied && !confirmingDiscard) setConfirmingDiscard(true);
    else onClose();
  };

  const generate = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const response = await create({
        name,
        // Sent only when filled in: an empty note is no note.
        ...(note.trim() !== '' && { note }),
        ...(expiration && expirationRequest(expiration)),
      });
      setCreated(response);
      onCreated(response);
    } catch (failure) {
      setErrors(errorsOf(failure));
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <Modal title="Your new personal access token" onClose={requestClose}>
        <p className="modal-body">
          <strong className="token-name-text">{created.token.name}</strong> expires on {formatDate(created.token.expiresAt)}.
        </p>
        <SecretReveal secret={created.secret} onCopied={() => setCopied(true)} />
        {confirmingDiscard ? (
          <div role="alert" className="discard-confirm">
            <p>You have not copied this token. Once you close this dialog it cannot be shown again.</p>
            <div className="modal-actions">
              <button type="button" className="secondary" onClick={() => setConfirmingDiscard(false)}>
                Keep it open
              </button>
              <button type="button" className="danger" onClick={onClose}>
                Close without copying
              </button>
            </div>
          </div>
        ) : (
          <div className="modal-actions">
            <button type="button" onClick={requestClose}>
              Done
            </button>
          </div>
        )}
      </Modal>
    );
  }

  return (
    <Modal title="New personal access token" onClose={requestClose}>
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
        {settings.data && expiration ? (
          <ExpirationPicker value={expiration} onChange={setExpiration} settings={settings.data} now={now} error={errors.expiration} />
        ) : settings.status === 'error' ? (
          <LoadError what="the expiration choices" error={settings.error} onRetry={settings.reload} />
        ) : (
          <Loading what="the expiration choices" />
        )}
        <FormError message={errors.form} />
        <DialogActions busy={busy} onCancel={requestClose} label="Generate" />
      </form>
    </Modal>
  );
}

/** Server validation messages, placed at their fields (`/name`, `/expiresAt` …). */
function errorsOf(failure: unknown): Errors {
  if (!(failure instanceof ApiError)) return { form: errorMessage(failure) };
  if (failure.code === 'CONFLICT') return { name: failure.detail ?? 'A token with this name already exists.' };
  if (failure.code === 'VALIDATION_FAILED') {
    const name = failure.fieldError('/name');
    const note = failure.fieldError('/note');
    const expiration = failure.fieldError('/expiresAt') ?? failure.fieldError('/expiresInDays');
    const placed = [name, note, expiration].filter(Boolean).length;
    const rest = failure.errors.length > placed ? errorMessage(failure) : undefined;
    return {
      name: name && `Name ${name}.`,
      note: note && `Note ${note}.`,
      expiration: expiration && `Expiration ${expiration}.`,
      form: rest ?? (placed === 0 ? errorMessage(failure) : undefined),
    };
  }
  return { form: errorMessage(failure) };
}
