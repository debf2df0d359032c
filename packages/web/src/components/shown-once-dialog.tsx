/**
 * A new token's secret, shown once (token creation and Regenerate share it): what it is and when
 * it expires, the secret with Copy, Done. Closing before copying asks first, since the secret
 * cannot be shown again; closing unmounts it and the secret with it.
 */
import type { CreateTokenResponse } from '@latchkey/contract';
import { useState, type ReactNode } from 'react';
import { formatDate } from '../time.js';
import { Modal } from './modal.js';
import { SecretReveal } from './secret-reveal.js';

export interface ShownOnceDialogProps {
  title: string;
  created: CreateTokenResponse;
  onClose: () => void;
  /** Said under the expiry (e.g. what became of the token it replaced). */
  children?: ReactNode;
}

export function ShownOnceDialog({ title, created, onClose, children }: ShownOnceDialogProps) {
  const [copied, setCopied] = useState(false);
  const [confirmingDiscard, setConfirmingDiscard] = useState(false);
  const requestClose = () => {
    if (!copied && !confirmingDiscard) setConfirmingDiscard(true);
    else onClose();
  };

  return (
    <Modal title={title} onClose={requestClose}>
      <p className="modal-body">
        <strong className="token-name-text">{created.token.name}</strong> expires on {formatDate(created.token.expiresAt)}.
      </p>
      {children}
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
