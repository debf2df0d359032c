// @vitest-environment happy-dom
import { DAY_MS, type CreateTokenResponse, type TokenView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { RotationSentence } from '../pages/token-page.js';
import { RegenerateTokenDialog } from './regenerate-token-dialog.js';

afterEach(cleanup);

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;

function token(extra: Partial<TokenView> = {}): TokenView {
  return {
    id: 'tok_1',
    name: 'deploy',
    note: null,
    scopes: ['namespaces:read'],
    namespaces: null,
    allowedIps: null,
    state: 'expiring',
    displayToken: 'lk_pat_1…AbCd',
    last4: 'AbCd',
    createdAt: new Date(NOW - 10 * DAY_MS).toISOString(),
    expiresAt: new Date(NOW + 3 * DAY_MS).toISOString(),
    lastUsedAt: null,
    lastUsedIp: null,
    revokedAt: null,
    ...extra,
  };
}

const created: CreateTokenResponse = {
  token: { ...token({ id: 'tok_2', state: 'active', createdAt: new Date(NOW).toISOString(), expiresAt: new Date(NOW + 180 * DAY_MS).toISOString() }), rotatedFrom: 'tok_1' },
  secret: 'lk_pat_1_example_secret_shown_once',
};

describe('RegenerateTokenDialog', () => {
  it('sends the grace period chosen (none by default) and shows the new secret once, saying until when the old one works', async () => {
    const rotate = vi.fn(async () => created);
    render(<RegenerateTokenDialog token={token()} onClose={vi.fn()} listKey="tokens" rotate={rotate} />);
    const dialog = screen.getByRole('dialog', { name: 'Regenerate personal access token?' });
    expect((screen.getByLabelText('None — the old token stops working now') as HTMLInputElement).checked).toBe(true);
    expect(dialog.textContent).toContain('same name, permissions');
    fireEvent.click(screen.getByLabelText('1 hour'));
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Regenerate' })));
    expect(rotate).toHaveBeenCalledWith('tok_1', { graceSeconds: 3600 });
    const reveal = screen.getByRole('dialog', { name: 'Your regenerated personal access token' });
    expect((screen.getByLabelText('Your new token') as HTMLInputElement).value).toBe(created.secret);
    expect(reveal.textContent).toContain('The old token keeps working until');
  });

  it('says why the server refused (a token already replaced) and stays open', async () => {
    const rotate = vi.fn(async () => {
      throw new ApiError(409, 'TOKEN_NOT_ROTATABLE', 'Token cannot be rotated', 'This token was already replaced by rotation; rotate its replacement instead.');
    });
    render(<RegenerateTokenDialog token={token()} onClose={vi.fn()} listKey="tokens" rotate={rotate} />);
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Regenerate' })));
    expect(rotate).toHaveBeenCalledWith('tok_1', { graceSeconds: 0 });
    expect(screen.getByRole('alert').textContent).toBe('This token was already replaced by rotation; rotate its replacement instead.');
    expect(screen.getByRole('dialog', { name: 'Regenerate personal access token?' })).toBeTruthy();
  });
});

describe('RotationSentence', () => {
  const rotating = token({
    replacedBy: 'tok_2',
    rotatedAt: new Date(NOW - 10 * MINUTE).toISOString(),
    graceUntil: new Date(NOW + 50 * MINUTE).toISOString(),
    usesSinceRotation: 3,
    lastUseSinceRotation: { at: new Date(NOW - 5 * MINUTE).toISOString(), ip: '10.0.0.5' },
  });
  const text = (view: TokenView, now = NOW) => {
    const { container, unmount } = render(<RotationSentence view={view} now={now} />);
    const sentence = container.textContent;
    unmount();
    return sentence;
  };

  it('tells until when the old secret works and how it was used since the rotation', () => {
    expect(text(rotating)).toMatch(/^Rotating — old secret valid until .+, used 3 times since rotation, last from 10\.0\.0\.5 5 minutes ago\.$/);
    expect(text({ ...rotating, usesSinceRotation: 0, lastUseSinceRotation: null })).toMatch(/used 0 times since rotation\.$/);
    expect(text({ ...rotating, usesSinceRotation: 1 })).toContain('used 1 time since rotation');
  });

  it('says the secret no longer works once the grace period is over', () => {
    expect(text(rotating, NOW + 50 * MINUTE)).toBe('Regenerated: this token’s secret no longer works.');
  });
});
