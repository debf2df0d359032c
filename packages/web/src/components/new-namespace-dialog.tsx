/** New Namespace: a DNS-1123 label, checked as you type; the server's verdict shown at the field. */
import { NAMESPACE_NAME_PATTERN, type NamespaceView } from '@latchkey/contract';
import { useId, useState, type FormEvent } from 'react';
import { ApiError, api, errorMessage } from '../api.js';
import { DialogActions, FormError } from './form-parts.js';
import { Modal } from './modal.js';

const MAX_LENGTH = 63;

/** Why a namespace name is refused, in words, or undefined. */
export function namespaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'Enter a name.';
  if (name.length > MAX_LENGTH) return `Use at most ${MAX_LENGTH} characters (this is ${name.length}).`;
  if (/[A-Z]/.test(name)) return 'Use lowercase letters only.';
  if (/[^a-z0-9-]/.test(name)) return 'Use only lowercase letters, digits and “-”.';
  if (!NAMESPACE_NAME_PATTERN.test(name)) return 'Start and end with a letter or digit.';
  return undefined;
}

export interface NewNamespaceDialogProps {
  onClose: () => void;
  onCreated: (namespace: NamespaceView) => void;
  create?: typeof api.createNamespace;
}

export function NewNamespaceDialog({ onClose, onCreated, create = api.createNamespace }: NewNamespaceDialogProps) {
  const nameId = useId();
  const [name, setName] = useState('');
  const [touched, setTouched] = useState(false);
  const [serverError, setServerError] = useState<string>();
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const problem = namespaceNameProblem(name);
  const fieldError = serverError ?? (touched ? problem : undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (problem) return;
    setBusy(true);
    setFormError(undefined);
    try {
      onCreated(await create({ name }));
    } catch (failure) {
      if (failure instanceof ApiError && (failure.code === 'CONFLICT' || failure.fieldError('/name'))) {
        setServerError(failure.code === 'CONFLICT' ? (failure.detail ?? 'That name is taken.') : `Name ${failure.fieldError('/name')}.`);
      } else {
        setFormError(errorMessage(failure));
      }
      setBusy(false);
    }
  };

  return (
    <Modal title="New namespace" onClose={() => !busy && onClose()}>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={nameId}>Name</label>
          <input
            id={nameId}
            value={name}
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            required
            aria-invalid={fieldError ? true : undefined}
            aria-describedby={`${nameId}-hint${fieldError ? ` ${nameId}-error` : ''}`}
            onChange={(event) => {
              setName(event.target.value);
              setTouched(true);
              setServerError(undefined);
            }}
          />
          <p id={`${nameId}-hint`} className="hint">
            A DNS-1123 label: up to 63 lowercase letters, digits and “-”, starting and ending with a letter or digit. For
            example <code>test-preview</code>.
          </p>
          {fieldError && (
            <p id={`${nameId}-error`} className="field-error" aria-live="polite">
              {fieldError}
            </p>
          )}
        </div>
        <FormError message={formError} />
        <DialogActions busy={busy} onCancel={onClose} label="Create Namespace" />
      </form>
    </Modal>
  );
}
