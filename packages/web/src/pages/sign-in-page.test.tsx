// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { takeReturnPath } from '../return-path.js';
import { SignInPage } from './sign-in-page.js';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
});

function answer(body: unknown) {
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })));
}

describe('SignInPage', () => {
  it('offers "Sign in with <provider>" when OpenID Connect is configured, returning where the user was going', async () => {
    window.history.replaceState(null, '', '/sign-in?return_to=%2Fnamespaces');
    answer({ oidc: { label: 'accounts.example.com' } });
    render(<SignInPage />);
    const link = await screen.findByRole('link', { name: 'Sign in with accounts.example.com' });
    expect(link.getAttribute('href')).toBe('/auth/oidc/start?return_to=%2Fnamespaces');
    expect(document.title).toBe('Sign in · Latchkey');
  });

  it('explains one-time links otherwise, and remembers the way back for the link’s round trip', async () => {
    window.history.replaceState(null, '', '/sign-in?return_to=%2Fsettings%2Ftokens');
    answer({ oidc: null });
    render(<SignInPage />);
    expect((await screen.findByText(/one-time links/)).textContent).toContain('no passwords');
    expect(screen.getByText('latchkey-server signin-link --email you@example.com')).toBeTruthy();
    expect(takeReturnPath()).toBe('/settings/tokens');
    expect(takeReturnPath()).toBeUndefined();
  });

  it('ignores a return path to another origin', async () => {
    window.history.replaceState(null, '', '/sign-in?return_to=%2F%2Fevil.example');
    answer({ oidc: { label: 'idp' } });
    render(<SignInPage />);
    expect((await screen.findByRole('link', { name: 'Sign in with idp' })).getAttribute('href')).toBe('/auth/oidc/start?return_to=%2F');
  });
});
