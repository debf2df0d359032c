/**
 * Regenerate: replaces a token by a new one with the same name, permissions, namespaces, allowed
 * addresses and note, and a fresh expiry (POST /api/v1/tokens/:id/rotate). The old secret stops
 * working at once, or after a grace period (1 hour, 1 day) so whatever uses it can be moved over;
 * the new secret is shown once, as at creation.
 */
import type { CreateTokenResponse, RotateTokenRequest, TokenView } from '@latchkey/contract';
import { useId, useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api.js';
import { invalidate } from '../query.js';
import { formatDateTime } from '../time.js';
import { DialogActions, FormError } from './form-parts.js';
import { Modal } from './modal.js';
import { ShownOnceDialog } from './shown-once-dialog.js';

export const GRACE_CHOICES = [
  { seconds: 0, label: 'None — the old token stops working now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '1 day' },
] as const;

export interface RegenerateTokenDialogProps {
  token: TokenView;
  onClose: () => void;
  /** The query key to reload once the token is replaced (see query.ts). */
  listKey: string;
  /** Called when the new token's secret has been shown and the dialog closed. */
  onDone?: (created: CreateTokenResponse) => void;
  /** For tests. */
  rotate?: (id: string, input: RotateTokenRequest) => Promise<CreateTokenResponse>;
}

export function RegenerateTokenDialog({ token, onClose, listKey, onDone, rotate = api.rotateToken }: RegenerateTokenDialogProps) {
  const legendId = useId();
  const [graceSeconds, setGrace] = useState<number>(0);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string>();
  const [created, setCreated] = useState<CreateTokenResponse>();
  const [graceUntil, setGraceUntil] = useState<number>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const response = await rotate(token.id, { graceSeconds });
      setGraceUntil(graceSeconds > 0 ? Date.parse(response.token.createdAt) + graceSeconds * 1000 : undefined);
      setCreated(response);
    } catch (error) {
      setFailure(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  // The lists reload once the secret is put away: reloading this token's page meanwhile would
  // find it replaced and take the dialog (and the secret) with it.
  const finish = (response: CreateTokenResponse) => {
    invalidate(listKey);
    if (onDone) onDone(response);
    else onClose();
  };

  if (created) {
    return (
      <ShownOnceDialog title="Your regenerated personal access token" created={created} onClose={() => finish(created)}>
        <p className="modal-body">
          {graceUntil === undefined ? (
            <>The old token no longer works.</>
          ) : (
            <>
              The old token keeps working until <time dateTime={new Date(graceUntil).toISOString()}>{formatDateTime(graceUntil)}</time>.
            </>
          )}
        </p>
      </ShownOnceDialog>
    );
  }

  return (
    <Modal title="Regenerate personal access token?" onClose={() => !busy && onClose()}>
      <form onSubmit={submit} noValidate>
        <p className="modal-body">
          A new token replaces <strong className="token-name-text">{token.name}</strong>, with the same name, permissions,
          namespaces, allowed addresses and note, and a new expiry. Update whatever uses the old one.
        </p>
        <fieldset className="field" aria-labelledby={legendId}>
          <legend id={legendId}>Keep the old token working for</legend>
          {GRACE_CHOICES.map((choice) => (
            <div key={choice.seconds} className="choice">
              <input
                type="radio"
                id={`${legendId}-${choice.seconds}`}
                name="grace"
                value={choice.seconds}
                checked={graceSeconds === choice.seconds}
                onChange={() => setGrace(choice.seconds)}
              />
              <label htmlFor={`${legendId}-${choice.seconds}`}>{choice.label}</label>
            </div>
          ))}
        </fieldset>
        <FormError message={failure} />
        <DialogActions busy={busy} onCancel={onClose} label="Regenerate" />
      </form>
    </Modal>
  );
}
