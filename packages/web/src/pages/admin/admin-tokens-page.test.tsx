// @vitest-environment happy-dom
import { DAY_MS, type AdminAccountView, type AdminTokenView, type AdminTokensQuery } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdminTokensPage, resolveAccount, type AdminTokensClient } from './admin-tokens-page.js';

afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
});

const NOW = Date.now();

function token(extra: Partial<AdminTokenView> = {}): AdminTokenView {
  return {
    id: `tok_${Math.random().toString(36).slice(2)}`,
    name: 'laptop',
    note: null,
    scopes: ['namespaces:read', 'namespaces:write'],
    namespaces: null,
    allowedIps: null,
    state: 'active',
    displayToken: 'lk_pat_1…AbCd',
    last4: 'AbCd',
    createdAt: new Date(NOW - DAY_MS).toISOString(),
    expiresAt: new Date(NOW + 30 * DAY_MS).toISOString(),
    lastUsedAt: null,
    lastUsedIp: null,
    revokedAt: null,
    owner: { id: 'acc_bob', email: 'bob@example.com', name: 'Bob' },
    ...extra,
  } as AdminTokenView;
}

function client(tokens: AdminTokenView[], accounts: Partial<AdminAccountView>[] = []) {
  return {
    listTokens: vi.fn(async (_query: AdminTokensQuery) => ({ tokens, nextCursor: null })),
    listAccounts: vi.fn(async () => ({ accounts: accounts as AdminAccountView[], nextCursor: null })),
    revokeToken: vi.fn(async () => {}),
  } satisfies AdminTokensClient;
}

const settle = () => act(async () => {});

describe('AdminTokensPage', () => {
  it('lists every account\'s tokens with their owner, state and scopes', async () => {
    render(<AdminTokensPage client={client([token(), token({ name: 'ci', owner: { id: 'acc_c', email: null, name: 'Carol' } })])} />);
    await settle();
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByText('bob@example.com')).toBeTruthy();
    expect(within(rows[0]!).getByText('Active')).toBeTruthy();
    expect(rows[0]!.textContent).toContain('namespaces:read, namespaces:write');
    expect(within(rows[1]!).getByText('Carol')).toBeTruthy();
  });

  it('sends every filter; an owner given by email is looked up to its account id', async () => {
    const api = client([], [{ id: 'acc_bob', email: 'Bob@Example.com' }]);
    render(<AdminTokensPage client={api} />);
    await settle();
    expect(screen.getByText('No token matches these filters.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Owner'), { target: { value: 'bob@example.com' } });
    fireEvent.change(screen.getByLabelText('State'), { target: { value: 'expiring' } });
    fireEvent.change(screen.getByLabelText('Expiring within (days)'), { target: { value: '7' } });
    fireEvent.change(screen.getByLabelText('Unused for (days)'), { target: { value: '30' } });
    fireEvent.change(screen.getByLabelText('Scope'), { target: { value: 'admin:read' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Apply filters' })));
    expect(api.listTokens).toHaveBeenLastCalledWith({
      owner: 'acc_bob',
      state: 'expiring',
      expiringWithinDays: 7,
      unusedForDays: 30,
      scope: 'admin:read',
      cursor: undefined,
    });
  });

  it('says when no account has the email typed as owner', async () => {
    const api = client([]);
    render(<AdminTokensPage client={api} />);
    await settle();
    fireEvent.change(screen.getByLabelText('Owner'), { target: { value: 'nobody@example.com' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Apply filters' })));
    expect(screen.getByRole('alert').textContent).toBe('No account has the email nobody@example.com.');
  });

  it('starts filtered by ?owner= (the Accounts page\'s link)', async () => {
    window.history.replaceState(null, '', '/admin/tokens?owner=acc_bob');
    const api = client([token()]);
    render(<AdminTokensPage client={api} />);
    await settle();
    expect(api.listTokens).toHaveBeenLastCalledWith({ owner: 'acc_bob', cursor: undefined });
    expect((screen.getByLabelText('Owner') as HTMLInputElement).value).toBe('acc_bob');
  });

  it('revokes after a confirmation naming the token and its owner', async () => {
    const laptop = token({ id: 'tok_laptop', lastUsedAt: new Date(NOW - 5 * 60_000).toISOString(), lastUsedIp: '10.0.0.5' });
    const api = client([laptop]);
    render(<AdminTokensPage client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Revoke laptop of bob@example.com' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Revoke token?' });
    expect(dialog.textContent).toContain('Revoke laptop lk_pat_1…AbCd, owned by bob@example.com?');
    expect(dialog.textContent).toContain('Last used 5 minutes ago from 10.0.0.5');
    await act(async () => fireEvent.click(within(dialog).getByRole('button', { name: 'Revoke Token' })));
    expect(api.revokeToken).toHaveBeenCalledWith('tok_laptop');
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });

  it('shows a revoked token without a Revoke button', async () => {
    render(<AdminTokensPage client={client([token({ revokedAt: new Date(NOW - DAY_MS).toISOString(), state: 'revoked' })])} />);
    await settle();
    expect(screen.queryByRole('button', { name: /^Revoke / })).toBeNull();
    expect(screen.getAllByText('Revoked').length).toBeGreaterThan(0);
  });
});

describe('resolveAccount', () => {
  it('takes an id as it is, and nothing as no filter', async () => {
    const api = client([]);
    expect(await resolveAccount(' acc_1 ', api)).toBe('acc_1');
    expect(await resolveAccount('  ', api)).toBeUndefined();
    expect(api.listAccounts).not.toHaveBeenCalled();
  });
});
