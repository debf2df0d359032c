// @vitest-environment happy-dom
import type { AdminAccountView, AdminAccountsQuery } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api.js';
import { AdminAccountsPage, type AdminAccountsClient } from './admin-accounts-page.js';

afterEach(cleanup);

function account(extra: Partial<AdminAccountView> = {}): AdminAccountView {
  return {
    id: `acc_${Math.random().toString(36).slice(2)}`,
    email: 'bob@example.com',
    name: 'Bob',
    isAdmin: false,
    kind: 'person',
    createdAt: '2026-01-01T00:00:00.000Z',
    disabledAt: null,
    lastSignInAt: null,
    activeTokens: 3,
    ...extra,
  };
}

function client(pages: AdminAccountView[][], extra: Partial<AdminAccountsClient> = {}) {
  const listAccounts = vi.fn(async (query: AdminAccountsQuery) => {
    const index = query.cursor ? Number(query.cursor) : 0;
    return { accounts: pages[index] ?? [], nextCursor: index + 1 < pages.length ? String(index + 1) : null };
  });
  return {
    listAccounts,
    disableAccount: vi.fn(async () => {}),
    enableAccount: vi.fn(async () => {}),
    deleteAccount: vi.fn(async () => {}),
    ...extra,
  } satisfies AdminAccountsClient;
}

const settle = () => act(async () => {});

describe('AdminAccountsPage', () => {
  it('lists accounts with role, state and active tokens; the administrator\'s own row has no actions', async () => {
    const me = account({ id: 'acc_me', email: 'admin@example.com', isAdmin: true, activeTokens: 1 });
    const bob = account({ id: 'acc_bob' });
    const carol = account({ id: 'acc_carol', email: 'carol@example.com', disabledAt: '2026-02-01T00:00:00.000Z', activeTokens: 0 });
    render(<AdminAccountsPage selfId="acc_me" client={client([[me, bob, carol]])} />);
    await settle();
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows).toHaveLength(3);
    expect(within(rows[0]!).getByText('Administrator')).toBeTruthy();
    expect(within(rows[0]!).getByText('You')).toBeTruthy();
    expect(within(rows[0]!).queryByRole('button')).toBeNull();
    expect(within(rows[1]!).getByRole('button', { name: 'Disable bob@example.com' })).toBeTruthy();
    expect(within(rows[2]!).getByText('Disabled')).toBeTruthy();
    expect(within(rows[2]!).getByRole('button', { name: 'Enable carol@example.com' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Tokens of bob@example.com' }).getAttribute('href')).toBe('/admin/tokens?owner=acc_bob');
  });

  it('searches and filters by state on Apply, and loads more pages with the cursor', async () => {
    const api = client([[account({ id: 'a1', email: 'a1@example.com' })], [account({ id: 'a2', email: 'a2@example.com' })]]);
    render(<AdminAccountsPage selfId="me" client={api} />);
    await settle();
    expect(api.listAccounts).toHaveBeenLastCalledWith({ cursor: undefined });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Load more' })));
    expect(api.listAccounts).toHaveBeenLastCalledWith({ cursor: '1' });
    expect(screen.getAllByRole('row')).toHaveLength(3);
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();

    fireEvent.change(screen.getByLabelText('Search'), { target: { value: '  bob ' } });
    fireEvent.change(screen.getByLabelText('State'), { target: { value: 'disabled' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Apply filters' })));
    expect(api.listAccounts).toHaveBeenLastCalledWith({ search: 'bob', state: 'disabled', cursor: undefined });
  });

  it('confirms disabling, naming the account and how many tokens stop, then disables it', async () => {
    const bob = account({ id: 'acc_bob', activeTokens: 3 });
    const api = client([[bob]]);
    render(<AdminAccountsPage selfId="me" client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Disable bob@example.com' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Disable account?' });
    expect(dialog.textContent).toContain('bob@example.com');
    expect(dialog.textContent).toContain('Its 3 active tokens stop working at once. Scripts using them fail.');
    await act(async () => fireEvent.click(within(dialog).getByRole('button', { name: 'Disable Account' })));
    expect(api.disableAccount).toHaveBeenCalledWith('acc_bob');
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });

  it('confirms deleting with the token count; a refusal stays in the dialog', async () => {
    const bob = account({ id: 'acc_bob', activeTokens: 1 });
    const api = client([[bob]], { deleteAccount: vi.fn(async () => Promise.reject(new ApiError(409, 'CONFLICT', 'Conflict', 'You cannot delete your own account.'))) });
    render(<AdminAccountsPage selfId="me" client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Delete bob@example.com' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Delete account?' });
    expect(dialog.textContent).toContain('Its 1 active token stops working for good. This cannot be undone.');
    await act(async () => fireEvent.click(within(dialog).getByRole('button', { name: 'Delete Account' })));
    expect(api.deleteAccount).toHaveBeenCalledWith('acc_bob');
    expect(within(dialog).getByRole('alert').textContent).toBe('You cannot delete your own account.');
  });

  it('says so when the account has no active tokens', async () => {
    render(<AdminAccountsPage selfId="me" client={client([[account({ activeTokens: 0 })]])} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Disable bob@example.com' }));
    const text = screen.getByRole('alertdialog').textContent!;
    expect(text).toContain('It has no active tokens.');
    expect(text).not.toContain('Scripts');
  });

  it('enables a disabled account after confirmation', async () => {
    const api = client([[account({ id: 'acc_c', email: 'c@example.com', disabledAt: '2026-02-01T00:00:00.000Z' })]]);
    render(<AdminAccountsPage selfId="me" client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Enable c@example.com' }));
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Enable Account' })));
    expect(api.enableAccount).toHaveBeenCalledWith('acc_c');
  });

  it('shows a 403 as a load error', async () => {
    const api = client([], { listAccounts: vi.fn(async () => Promise.reject(new ApiError(403, 'FORBIDDEN', 'Forbidden', 'Only administrators may do this.'))) });
    render(<AdminAccountsPage selfId="me" client={api} />);
    await settle();
    expect(screen.getByRole('alert').textContent).toContain('Could not load accounts. Only administrators may do this.');
  });
});
