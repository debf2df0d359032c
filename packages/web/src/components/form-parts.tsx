/** Pieces every form and dialog of the console shows the same way. */
import type { RefObject } from 'react';

/** A failure that belongs to the whole form (or action), announced as it appears. */
export function FormError({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p role="alert" className="form-error">
      {message}
    </p>
  );
}

export interface DialogActionsProps {
  /** While true, both buttons are disabled and the action button says it is busy. */
  busy: boolean;
  onCancel: () => void;
  /** Where the dialog puts focus first, when that is Cancel. */
  cancelRef?: RefObject<HTMLButtonElement | null>;
  /** The action button's label, saying exactly what happens ("Delete Token", "Generate"). */
  label: string;
  /** The action; without it the action button submits the form it is in. */
  onAction?: () => void;
  /** Styles the action as destructive. */
  danger?: boolean;
}

/** A dialog's Cancel and action buttons. */
export function DialogActions({ busy, onCancel, cancelRef, label, onAction, danger }: DialogActionsProps) {
  return (
    <div className="modal-actions">
      <button type="button" ref={cancelRef} className="secondary" onClick={onCancel} disabled={busy}>
        Cancel
      </button>
      <button
        type={onAction ? 'button' : 'submit'}
        className={danger ? 'danger' : undefined}
        onClick={onAction}
        disabled={busy}
        aria-busy={busy || undefined}
      >
        {label}
      </button>
    </div>
  );
}
