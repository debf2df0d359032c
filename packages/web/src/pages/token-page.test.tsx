// @vitest-environment happy-dom
import { DAY_MS, type TokenActivityView, type TokenView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { TokenPage } from './token-page.js';

afterEach(cleanup);

const NOW = Date.now();

function token(extra: Partial<TokenView> = {}): TokenView {
  return {
    id: `tok_${Math.random().toString(36).slice(2)}`,
    name: 'ci-preview',
    note: 'GitHub Actions in acme/web',
    scopes: ['namespaces:read', 'namespaces:write'],
    namespaces: ['preview-*'],
    allowedIps: ['10.0.0.0/8'],
    state: 'active',
    displayToken: 'lk_pat_1…AbCd',
    last4: 'AbCd',
    createdAt: new Date(NOW - DAY_MS).toISOString(),
    expiresAt: new Date(NOW + 30 * DAY_MS).toISOString(),
    lastUsedAt: new Date(NOW - 3 * 60_000).toISOString(),
    lastUsedIp: '10.0.0.5',
    revokedAt: null,
    ...extra,
  };
}

const ACTIVITY: TokenActivityView = {
  addresses: [
    { ip: '10.0.0.5', lastUsedAt: new Date(NOW - 3 * 60_000).toISOString() },
    { ip: '10.1.2.3', lastUsedAt: new Date(NOW - 2 * DAY_MS).toISOString() },
  ],
  events: [
    { action: 'namespace.created', occurredAt: new Date(NOW - 3 * 60_000).toISOString(), ip: '10.0.0.5', targetId: 'ns_1', target: 'preview-42' },
  ],
};

async function renderPage(view: TokenView, activity: TokenActivityView = ACTIVITY) {
  render(<TokenPage id={view.id} load={async () => view} loadActivity={async () => activity} />);
  await screen.findByRole('heading', { level: 1, name: view.name });
}

const detail = (term: string) => [...document.querySelectorAll('dt')].find((dt) => dt.textContent === term)!.nextElementSibling!.textContent;

describe('TokenPage', () => {
  it('shows what the token may do and where, with its dates, addresses and recent actions', async () => {
    await renderPage(token());
    expect(detail('Permissions')).toContain('namespaces:write — Create and delete namespaces (includes namespaces:read)');
    expect(detail('Namespaces')).toBe('preview-*');
    expect(detail('Allowed from')).toBe('10.0.0.0/8');
    expect(detail('Note')).toBe('GitHub Actions in acme/web');
    expect(detail('Last used')).toMatch(/^Last used 3 minutes ago from 10\.0\.0\.5 \(/);
    expect(detail('Expires')).toContain('in 30 days');
    expect(screen.getByText('Active')).toBeTruthy();

    const addresses = screen.getByRole('table', { name: 'The last addresses this token was used from' });
    expect(addresses.querySelectorAll('tbody tr')).toHaveLength(2);
    expect(addresses.textContent).toContain('10.1.2.3');
    const events = screen.getByRole('table', { name: 'What this token did recently' });
    expect(events.textContent).toContain('Created a namespace');
    expect(events.textContent).toContain('preview-42');
  });

  it('says "Every namespace" and "Anywhere" for a token without restrictions, and when it was never used', async () => {
    await renderPage(token({ namespaces: null, allowedIps: null, note: null, lastUsedAt: null, lastUsedIp: null }), { addresses: [], events: [] });
    expect(detail('Namespaces')).toBe('Every namespace');
    expect(detail('Allowed from')).toBe('Anywhere');
    expect(detail('Note')).toBe('None');
    expect(detail('Last used')).toBe('Never used');
    expect(screen.getByText('Not used from any address yet.')).toBeTruthy();
  });

  it('Delete Token asks first, saying when and from where the token was last used', async () => {
    await renderPage(token());
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Delete Token' })));
    const dialog = screen.getByRole('alertdialog', { name: 'Delete personal access token?' });
    expect(dialog.textContent).toContain('Last used 3 minutes ago from 10.0.0.5');
  });

  it('has no Delete Token for a revoked token', async () => {
    await renderPage(token({ revokedAt: new Date(NOW - 60_000).toISOString() }));
    expect(screen.queryByRole('button', { name: 'Delete Token' })).toBeNull();
    expect(document.querySelector('.badge')!.textContent).toBe('Revoked');
  });

  it('says so when there is no such token', async () => {
    render(
      <TokenPage
        id="tok_missing"
        load={vi.fn(async () => {
          throw new ApiError(404, 'NOT_FOUND', 'Not found', 'No such token.');
        })}
        loadActivity={vi.fn(async () => ACTIVITY)}
      />,
    );
    expect((await screen.findByRole('heading', { level: 1 })).textContent).toBe('Token not found');
  });
});
