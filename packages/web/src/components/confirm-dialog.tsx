/**
 * "Are you sure?" for destructive actions: focus starts on Cancel so a stray Enter does
 * nothing; the confirm button says exactly what happens; failures stay in the dialog.
 */
import { useId, useRef, type ReactNode } from 'react';
import { invalidate } from '../query.js';
import { useAction } from '../use-action.js';
import { DialogActions, FormError } from './form-parts.js';
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
  const { busy, error, run: confirm } = useAction(onConfirm);

  return (
    <Modal title={title} onClose={() => !busy && onClose()} initialFocus={cancelRef} role="alertdialog" describedBy={descriptionId}>
      <div id={descriptionId} className="modal-body">
        {children}
      </div>
      <FormError message={error} />
      <DialogActions busy={busy} onCancel={onClose} cancelRef={cancelRef} label={confirmLabel} onAction={confirm} danger />
    </Modal>
  );
}

export interface ConfirmDeleteProps extends Omit<ConfirmDialogProps, 'onConfirm'> {
  /** Deletes the item. */
  remove: () => Promise<unknown>;
  /** The query key of the list the item is in (see query.ts): it reloads once the item is gone. */
  listKey: string;
}

/** Confirms deleting one item of a list; once it is deleted, closes and reloads the list. */
export function ConfirmDelete({ remove, listKey, onClose, ...dialog }: ConfirmDeleteProps) {
  return (
    <ConfirmDialog
      {...dialog}
      onClose={onClose}
      onConfirm={async () => {
        await remove();
        onClose();
        invalidate(listKey);
      }}
    />
  );
}
