// @vitest-environment happy-dom
import { DAY_MS, type AdminServiceAccountView, type CreateTokenRequest, type CreateTokenResponse } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api.js';
import { AdminServiceAccountsPage, serviceTokenSettings, type AdminServiceAccountsClient } from './admin-service-accounts-page.js';

afterEach(cleanup);

const SECRET = `lk_pat_1${'B'.repeat(43)}000000`;

function serviceAccount(extra: Partial<AdminServiceAccountView> = {}): AdminServiceAccountView {
  return {
    id: 'sa_1',
    name: 'ci-deploy',
    description: 'Deploys from CI',
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: { id: 'acc_admin', email: 'admin@example.com', name: null },
    activeTokens: 2,
    ...extra,
  };
}

function minted(input: CreateTokenRequest): CreateTokenResponse {
  return {
    secret: SECRET,
    token: {
      id: 'tok_9',
      name: input.name,
      note: null,
      scopes: [...(input.scopes ?? [])],
      namespaces: null,
      allowedIps: null,
      state: 'active',
      displayToken: 'lk_pat_1…0000',
      last4: '0000',
      createdAt: new Date(0).toISOString(),
      expiresAt: new Date(30 * DAY_MS).toISOString(),
      lastUsedAt: null,
      lastUsedIp: null,
      revokedAt: null,
    },
  };
}

function client(accounts: AdminServiceAccountView[], extra: Partial<AdminServiceAccountsClient> = {}) {
  return {
    listServiceAccounts: vi.fn(async () => ({ serviceAccounts: accounts, nextCursor: null })),
    createServiceAccount: vi.fn(async (input: { name: string; description?: string | null }) => serviceAccount({ ...input, description: input.description ?? null })),
    deleteServiceAccount: vi.fn(async () => {}),
    mintServiceToken: vi.fn(async (_id: string, input: CreateTokenRequest) => minted(input)),
    getPolicy: vi.fn(async () => ({ maxLifetimeDays: 180, serviceMaxLifetimeDays: 365, personalScopes: [], idleRevokeDays: null, updatedAt: null })),
    tokenSettings: vi.fn(async () => ({ maxLifetimeDays: 180, defaultLifetimeDays: 180, lifetimeChoices: [7, 30, 60, 90, 180] })),
    ...extra,
  } satisfies AdminServiceAccountsClient;
}

const settle = () => act(async () => {});

describe('AdminServiceAccountsPage', () => {
  it('lists service accounts with description, creator and active tokens', async () => {
    render(<AdminServiceAccountsPage client={client([serviceAccount(), serviceAccount({ id: 'sa_2', name: 'backup', description: null, createdBy: null, activeTokens: 0 })])} />);
    await settle();
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.textContent).toContain('ci-deploy');
    expect(rows[0]!.textContent).toContain('Deploys from CI');
    expect(rows[0]!.textContent).toContain('admin@example.com');
    expect(rows[1]!.textContent).toContain('a deleted account');
  });

  it('creates one with a name and description; an empty name is refused without a request', async () => {
    const api = client([]);
    render(<AdminServiceAccountsPage client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'New service account' }));
    const dialog = screen.getByRole('dialog', { name: 'New service account' });
    await act(async () => fireEvent.click(within(dialog).getByRole('button', { name: 'Create Service Account' })));
    expect(within(dialog).getByText('Name must not be empty.')).toBeTruthy();
    expect(api.createServiceAccount).not.toHaveBeenCalled();
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: ' ci-deploy ' } });
    fireEvent.change(within(dialog).getByLabelText('Description'), { target: { value: 'Deploys' } });
    await act(async () => fireEvent.click(within(dialog).getByRole('button', { name: 'Create Service Account' })));
    expect(api.createServiceAccount).toHaveBeenCalledWith({ name: 'ci-deploy', description: 'Deploys' });
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('shows a refused name at its field', async () => {
    const api = client([], {
      createServiceAccount: vi.fn(async () =>
        Promise.reject(new ApiError(422, 'VALIDATION_FAILED', 'Invalid', 'Invalid request body', [{ pointer: '/name', detail: 'must be at most 100 characters' }])),
      ),
    });
    render(<AdminServiceAccountsPage client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'New service account' }));
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'x'.repeat(101) } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Create Service Account' })));
    expect(screen.getByText('Name must be at most 100 characters.')).toBeTruthy();
  });

  it('confirms deleting, naming the account and how many tokens die', async () => {
    const api = client([serviceAccount()]);
    render(<AdminServiceAccountsPage client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Delete ci-deploy' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Delete service account?' });
    expect(dialog.textContent).toContain('ci-deploy and its tokens are deleted. Its 2 active tokens stop working for good. Scripts using them fail.');
    await act(async () => fireEvent.click(within(dialog).getByRole('button', { name: 'Delete Service Account' })));
    expect(api.deleteServiceAccount).toHaveBeenCalledWith('sa_1');
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });

  it('mints a token in the New Token dialog and shows its secret once, within the service maximum', async () => {
    const api = client([serviceAccount()]);
    render(<AdminServiceAccountsPage client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Mint token for ci-deploy' }));
    const dialog = await screen.findByRole('dialog', { name: 'New token for ci-deploy' });
    await screen.findByLabelText('Expiration');
    const options = [...(within(dialog).getByLabelText('Expiration') as HTMLSelectElement).options].map((option) => option.value);
    expect(options).toEqual(['7', '30', '60', '90', '180', '365', 'date']);
    expect(within(dialog).queryByText('admin:read')).toBeNull();
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'deploy-2026' } });
    await act(async () => fireEvent.click(within(dialog).getByRole('button', { name: 'Generate' })));
    expect(api.mintServiceToken).toHaveBeenCalledWith('sa_1', expect.objectContaining({ name: 'deploy-2026', expiresInDays: 180 }));
    expect((screen.getByLabelText('Your new token') as HTMLInputElement).value).toBe(SECRET);
  });
});

describe('serviceTokenSettings', () => {
  const personal = { maxLifetimeDays: 30, defaultLifetimeDays: 30, lifetimeChoices: [7, 30] };
  it('offers up to the service maximum, and ten years without one', () => {
    expect(serviceTokenSettings(personal, 60)).toMatchObject({ maxLifetimeDays: 60, defaultLifetimeDays: 60, lifetimeChoices: [7, 30, 60] });
    expect(serviceTokenSettings(personal, null)).toMatchObject({ maxLifetimeDays: 3650, defaultLifetimeDays: 180, lifetimeChoices: [7, 30, 180, 3650] });
    expect(serviceTokenSettings(personal, null).allowedScopes).not.toContain('admin:read');
  });
});
