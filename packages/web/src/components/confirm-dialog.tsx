/**
 * "Are you sure?" for destructive actions: focus starts on Cancel so a stray Enter does
 * nothing; the confirm button says exactly what happens; failures stay in the dialog.
 */
import { useId, useRef, useState, type ReactNode } from 'react';
import { errorMessage } from '../api.js';
import { Modal } from './modal.js';

export interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  /** The confirm button's label, e.g. "Delete Token". */
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

export function ConfirmDialog({ title, children, confirmLabel, onConfirm, onClose }: ConfirmDialogProps) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  const descriptionId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  };

  return (
    <Modal title={title} onClose={() => !busy && onClose()} initialFocus={cancelRef} role="alertdialog" describedBy={descriptionId}>
      <div id={descriptionId} className="modal-body">
        {children}
      </div>
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
      <div className="modal-actions">
        <button type="button" ref={cancelRef} className="secondary" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={confirm} disabled={busy} aria-busy={busy || undefined}>
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
