/**
 * A modal on the native <dialog>: the browser traps focus, makes the page behind it inert and
 * closes on Escape. Mounted = open; the parent unmounts it to close, so whatever it held (a
 * secret, say) is gone with it. Focus starts on `initialFocus` and returns to where it was.
 */
import { useEffect, useId, useRef, type ReactNode, type RefObject } from 'react';

export interface ModalProps {
  title: string;
  /** Escape or a close request; return to leave the dialog open is not offered: the parent decides. */
  onClose: () => void;
  /** The element focused when the dialog opens (default: the first focusable one). */
  initialFocus?: RefObject<HTMLElement | null>;
  /** `alertdialog` for confirmations that interrupt. */
  role?: 'dialog' | 'alertdialog';
  describedBy?: string;
  children: ReactNode;
}

export function Modal({ title, onClose, initialFocus, role = 'dialog', describedBy, children }: ModalProps) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const dialog = dialogRef.current!;
    const previouslyFocused = document.activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    const target = initialFocus?.current ?? dialog.querySelector<HTMLElement>('input, select, textarea, button, a[href]');
    target?.focus();
    const onCancel = (event: Event) => {
      // Escape: the parent decides (it may want to ask before discarding a secret).
      event.preventDefault();
      onCloseRef.current();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      previouslyFocused?.focus?.();
    };
    // Opening happens once per mount.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <dialog ref={dialogRef} role={role} aria-modal="true" aria-labelledby={titleId} aria-describedby={describedBy} className="modal">
      <h2 id={titleId} className="modal-title">
        {title}
      </h2>
      {children}
    </dialog>
  );
}
