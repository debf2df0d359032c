// @vitest-environment happy-dom
import { DAY_MS, type TokenView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeleteTokenDialog, lastUseSentence } from './delete-token-dialog.js';

afterEach(cleanup);

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;

function token(extra: Partial<TokenView> = {}): TokenView {
  return {
    id: 'tok_1',
    name: 'ci-preview',
    note: null,
    scopes: ['namespaces:read'],
    namespaces: null,
    allowedIps: null,
    state: 'active',
    displayToken: 'lk_pat_1…AbCd',
    last4: 'AbCd',
    createdAt: new Date(NOW - 10 * DAY_MS).toISOString(),
    expiresAt: new Date(NOW + 10 * DAY_MS).toISOString(),
    lastUsedAt: null,
    lastUsedIp: null,
    revokedAt: null,
    ...extra,
  };
}

describe('lastUseSentence', () => {
  it('says when and from where, to the minute under an hour', () => {
    const at = (ms: number) => new Date(NOW - ms).toISOString();
    expect(lastUseSentence(token({ lastUsedAt: at(3 * MINUTE), lastUsedIp: '10.0.0.5' }), NOW)).toBe('Last used 3 minutes ago from 10.0.0.5');
    expect(lastUseSentence(token({ lastUsedAt: at(20_000), lastUsedIp: '10.0.0.5' }), NOW)).toBe('Last used just now from 10.0.0.5');
    expect(lastUseSentence(token({ lastUsedAt: at(MINUTE), lastUsedIp: '::1' }), NOW)).toBe('Last used 1 minute ago from ::1');
    expect(lastUseSentence(token({ lastUsedAt: at(5 * 60 * MINUTE), lastUsedIp: '10.0.0.5' }), NOW)).toBe('Last used 5 hours ago from 10.0.0.5');
    expect(lastUseSentence(token({ lastUsedAt: at(2 * DAY_MS + MINUTE), lastUsedIp: null }), NOW)).toBe('Last used 2 days ago');
    expect(lastUseSentence(token(), NOW)).toBe('Never used');
  });
});

describe('DeleteTokenDialog', () => {
  it('tells when and from where the token was last used before deleting it', async () => {
    const remove = vi.fn(async () => {});
    const onDeleted = vi.fn();
    const onClose = vi.fn();
    render(
      <DeleteTokenDialog
        token={token({ lastUsedAt: new Date(NOW - 3 * MINUTE).toISOString(), lastUsedIp: '10.0.0.5' })}
        now={NOW}
        onClose={onClose}
        onDeleted={onDeleted}
        listKey="tokens"
        remove={remove}
      />,
    );
    const dialog = screen.getByRole('alertdialog', { name: 'Delete personal access token?' });
    expect(dialog.textContent).toContain('Last used 3 minutes ago from 10.0.0.5 (');
    expect(dialog.querySelector('.last-use time')!.getAttribute('dateTime')).toBe(new Date(NOW - 3 * MINUTE).toISOString());
    expect(dialog.textContent).toContain('ci-preview');
    // The description the alert dialog announces includes the last use.
    expect(document.getElementById(dialog.getAttribute('aria-describedby')!)!.textContent).toContain('Last used 3 minutes ago');
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Cancel' }));

    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Delete Token' })));
    expect(remove).toHaveBeenCalledWith('tok_1');
    expect(onDeleted).toHaveBeenCalledOnce();
    expect(onClose).toHaveBeenCalledOnce();
  });

  it('says "Never used" for a token nobody used', () => {
    render(<DeleteTokenDialog token={token()} now={NOW} onClose={vi.fn()} listKey="tokens" remove={vi.fn()} />);
    expect(screen.getByRole('alertdialog').querySelector('.last-use')!.textContent).toBe('Never used.');
  });
});
