// @vitest-environment happy-dom
import { DAY_MS, type TokenView } from '@latchkey/contract';
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ExpiryBanner, regeneratePath } from './expiry-banner.js';

afterEach(cleanup);

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;

function token(name: string, expiresInMs: number, extra: Partial<TokenView> = {}): TokenView {
  return {
    id: `tok_${name}`,
    name,
    note: null,
    scopes: ['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write'],
    namespaces: null,
    allowedIps: null,
    state: 'active',
    displayToken: 'lk_pat_1…AbCd',
    last4: 'AbCd',
    createdAt: new Date(NOW - DAY_MS).toISOString(),
    expiresAt: new Date(NOW + expiresInMs).toISOString(),
    lastUsedAt: null,
    lastUsedIp: null,
    revokedAt: null,
    ...extra,
  };
}

const banner = () => screen.queryByRole('region', { name: 'Expiring tokens' });

// docs/security.md, item 42
describe('ExpiryBanner thresholds', () => {
  it('shows at 7 days − 1 minute: which token, in how many days, and a link to regenerate it', () => {
    render(<ExpiryBanner tokens={[token('deploy', 7 * DAY_MS - MINUTE)]} now={NOW} />);
    expect(banner()!.textContent).toContain('deploy');
    expect(banner()!.textContent).toContain('in 7 days');
    expect(screen.getByRole('link', { name: 'Regenerate deploy' }).getAttribute('href')).toBe(regeneratePath('tok_deploy'));
    expect(regeneratePath('tok_deploy')).toBe('/settings/tokens/tok_deploy?regenerate=1');
  });

  it('does not show at 7 days + 1 minute', () => {
    render(<ExpiryBanner tokens={[token('deploy', 7 * DAY_MS + MINUTE)]} now={NOW} />);
    expect(banner()).toBeNull();
  });

  it('shows at exactly 7 days (expiring is ≤ 7 days) and counts whole days up', () => {
    render(<ExpiryBanner tokens={[token('edge', 7 * DAY_MS), token('soon', 3 * DAY_MS - MINUTE)]} now={NOW} />);
    const items = screen.getAllByRole('listitem').map((item) => item.textContent);
    expect(items[0]).toContain('soon');
    expect(items[0]).toContain('in 3 days');
    expect(items[1]).toContain('in 7 days');
  });

  it('says hours when less than a day is left', () => {
    render(<ExpiryBanner tokens={[token('today', 5 * 3_600_000 + MINUTE)]} now={NOW} />);
    expect(banner()!.textContent).toContain('in 5 hours');
  });

  it('ignores expired and revoked tokens, and tokens with plenty of time', () => {
    render(
      <ExpiryBanner
        tokens={[
          token('expired', -MINUTE),
          token('revoked', 2 * DAY_MS, { revokedAt: new Date(NOW - MINUTE).toISOString() }),
          token('fine', 30 * DAY_MS),
        ]}
        now={NOW}
      />,
    );
    expect(banner()).toBeNull();
  });

  it('renders a name carrying markup as text', () => {
    const name = '<img src=x onerror=alert(1)>';
    render(<ExpiryBanner tokens={[token(name, DAY_MS)]} now={NOW} />);
    const strong = banner()!.querySelector('strong')!;
    expect(strong.textContent).toBe(name);
    expect(strong.children).toHaveLength(0);
    expect(banner()!.querySelector('img')).toBeNull();
  });
});
