// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { ConfirmDialog } from './confirm-dialog.js';

afterEach(cleanup);

function renderDialog(onConfirm = vi.fn(async () => {}), onClose = vi.fn()) {
  render(
    <ConfirmDialog title="Delete personal access token?" confirmLabel="Delete Token" onConfirm={onConfirm} onClose={onClose}>
      <p>Scripts using it stop working.</p>
    </ConfirmDialog>,
  );
  return { onConfirm, onClose };
}

describe('ConfirmDialog (Delete Token)', () => {
  it('opens as a modal alert dialog with focus on Cancel', () => {
    renderDialog();
    const dialog = screen.getByRole('alertdialog', { name: 'Delete personal access token?' });
    expect((dialog as HTMLDialogElement).open).toBe(true);
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.getByRole('button', { name: 'Delete Token' })).toBeTruthy();
    expect(dialog.textContent).toContain('Scripts using it stop working.');
  });

  it('Cancel and Escape close without confirming', () => {
    const { onConfirm, onClose } = renderDialog();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    const dialog = screen.getByRole('alertdialog');
    fireEvent(dialog, new Event('cancel', { cancelable: true }));
    expect(onClose).toHaveBeenCalledTimes(2);
    expect(onConfirm).not.toHaveBeenCalled();
  });

  it('Delete Token confirms; a failure stays in the dialog as a readable message', async () => {
    const onConfirm = vi.fn(async () => {
      throw new ApiError(404, 'NOT_FOUND', 'Not found', 'No such token.');
    });
    const { onClose } = renderDialog(onConfirm);
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Delete Token' })));
    expect(onConfirm).toHaveBeenCalledOnce();
    expect(screen.getByRole('alert').textContent).toBe('No such token.');
    expect(onClose).not.toHaveBeenCalled();
    expect((screen.getByRole('button', { name: 'Delete Token' }) as HTMLButtonElement).disabled).toBe(false);
  });
});
