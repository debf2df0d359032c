/**
 * The console: who is signed in decides between the sign-in page and the shell (navigation,
 * expiry banner, the page for the path). A 401 from any request ends up on the sign-in page,
 * which brings the user back to where they were.
 */
import type { MeResponse } from '@latchkey/contract';
import { safeReturnPath } from '@latchkey/contract/return-path';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, api, errorMessage, setCsrfToken, setUnauthenticatedHandler } from './api.js';
import { ExpiryBanner } from './components/expiry-banner.js';
import { ReportedTokensNotices } from './components/reported-tokens-notice.js';
import { AdminAccountsPage } from './pages/admin/admin-accounts-page.js';
import { AdminAuditPage } from './pages/admin/admin-audit-page.js';
import { ADMIN_PATHS } from './pages/admin/admin-common.js';
import { AdminPolicyPage } from './pages/admin/admin-policy-page.js';
import { AdminServiceAccountsPage } from './pages/admin/admin-service-accounts-page.js';
import { AdminThrottlesPage } from './pages/admin/admin-throttles-page.js';
import { AdminTokensPage } from './pages/admin/admin-tokens-page.js';
import { NamespacesPage } from './pages/namespaces-page.js';
import { NotificationsPage } from './pages/notifications-page.js';
import { OverviewPage } from './pages/overview-page.js';
import { SignInPage } from './pages/sign-in-page.js';
import { TokenPage } from './pages/token-page.js';
import { WebhooksPage } from './pages/webhooks-page.js';
import { TOKENS_KEY, TokensPage, useTokens } from './pages/tokens-page.js';
import { invalidate, useQuery } from './query.js';
import { takeReturnPath } from './return-path.js';
import { Link, navigate, useLocation } from './router.js';
import { useNow } from './time.js';

type Session = { status: 'loading' } | { status: 'signed-out' } | { status: 'signed-in'; me: MeResponse } | { status: 'failed'; error: unknown };

const SIGN_IN_PATH = '/sign-in';
const NOTICES_KEY = 'notices';

function signInPathFor(location: string): string {
  return location === '/' || location.startsWith(SIGN_IN_PATH) ? SIGN_IN_PATH : `${SIGN_IN_PATH}?return_to=${encodeURIComponent(location)}`;
}

export function App() {
  const location = useLocation();
  const [session, setSession] = useState<Session>({ status: 'loading' });

  const loadSession = useCallback(() => {
    setSession({ status: 'loading' });
    api.me().then(
      (me) => {
        setCsrfToken(me.csrfToken);
        setSession({ status: 'signed-in', me });
      },
      (error: unknown) =>
        setSession(error instanceof ApiError && error.status === 401 ? { status: 'signed-out' } : { status: 'failed', error }),
    );
  }, []);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setCsrfToken(undefined);
      setSession({ status: 'signed-out' });
    });
    loadSession();
  }, [loadSession]);

  const path = location.split('?')[0]!;

  // Send signed-out visitors to sign in, and signed-in ones on to where they were going.
  useEffect(() => {
    if (session.status === 'signed-out' && path !== SIGN_IN_PATH) navigate(signInPathFor(location), { replace: true });
    if (session.status === 'signed-in') {
      if (path === SIGN_IN_PATH) {
        takeReturnPath();
        navigate(safeReturnPath(new URLSearchParams(location.split('?')[1] ?? '').get('return_to')) ?? '/', { replace: true });
      } else if (path === '/') {
        const returnTo = takeReturnPath();
        if (returnTo) navigate(returnTo, { replace: true });
      } else if (path === '/settings') {
        navigate('/settings/tokens', { replace: true });
      } else if (path === '/admin' && session.me.account.isAdmin) {
        navigate(ADMIN_PATHS.accounts, { replace: true });
      }
    }
    // `session.me` changes only with the status.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session.status, location, path]);

  if (session.status === 'loading') {
    return (
      <p className="boot" role="status">
        Loading…
      </p>
    );
  }
  if (session.status === 'failed') {
    return (
      <main id="main" className="sign-in">
        <h1>Latchkey is unavailable</h1>
        <p role="alert">{errorMessage(session.error)}</p>
        <button type="button" onClick={loadSession}>
          Try again
        </button>
      </main>
    );
  }
  if (session.status === 'signed-out') return <SignInPage />;
  return <Shell me={session.me} path={path} onSignedOut={() => setSession({ status: 'signed-out' })} />;
}

interface Route {
  title: string;
  section: 'overview' | 'namespaces' | 'settings' | 'admin' | 'none';
  render: () => ReactNode;
}

/** `/settings/tokens/:id`: one token's page. */
const TOKEN_PAGE = /^\/settings\/tokens\/([^/]+)$/;

const NOT_FOUND: Route = {
  title: 'Not found',
  section: 'none',
  render: () => (
    <>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link href="/">Go to the overview</Link>.
      </p>
    </>
  ),
};

/** The Admin section's pages; for anyone but an administrator they do not exist. */
function adminRouteFor(path: string, me: MeResponse): Route {
  if (!me.account.isAdmin) return NOT_FOUND;
  const page = (title: string, current: keyof typeof ADMIN_PATHS, content: ReactNode): Route => ({
    title,
    section: 'admin',
    render: () => <AdminLayout current={current}>{content}</AdminLayout>,
  });
  switch (path) {
    case ADMIN_PATHS.tokens:
      return page('Admin · Tokens', 'tokens', <AdminTokensPage />);
    case ADMIN_PATHS.audit:
      return page('Admin · Audit log', 'audit', <AdminAuditPage />);
    case ADMIN_PATHS.serviceAccounts:
      return page('Admin · Service accounts', 'serviceAccounts', <AdminServiceAccountsPage />);
    case ADMIN_PATHS.policy:
      return page('Admin · Policy', 'policy', <AdminPolicyPage />);
    case ADMIN_PATHS.throttles:
      return page('Admin · Throttled addresses', 'throttles', <AdminThrottlesPage />);
    default:
      return page('Admin · Accounts', 'accounts', <AdminAccountsPage selfId={me.account.id} />);
  }
}

function routeFor(path: string, me: MeResponse): Route {
  if (path === '/admin' || path.startsWith('/admin/')) {
    return path === '/admin' || (Object.values(ADMIN_PATHS) as string[]).includes(path) ? adminRouteFor(path, me) : NOT_FOUND;
  }
  const tokenPage = TOKEN_PAGE.exec(path);
  if (tokenPage) {
    let id: string;
    try {
      id = decodeURIComponent(tokenPage[1]!);
    } catch {
      id = tokenPage[1]!;
    }
    return {
      title: 'Personal Access Token',
      section: 'settings',
      render: () => (
        <SettingsLayout>
          {/* Keyed: another token's page starts afresh. */}
          <TokenPage key={id} id={id} />
        </SettingsLayout>
      ),
    };
  }
  switch (path) {
    case '/':
      return { title: 'Overview', section: 'overview', render: () => <OverviewPage account={me.account} /> };
    case '/namespaces':
      return { title: 'Namespaces', section: 'namespaces', render: () => <NamespacesPage /> };
    case '/settings/notifications':
      return {
        title: 'Notifications',
        section: 'settings',
        render: () => (
          <SettingsLayout current="notifications">
            <NotificationsPage />
          </SettingsLayout>
        ),
      };
    case '/settings/webhooks':
      return {
        title: 'Webhooks',
        section: 'settings',
        render: () => (
          <SettingsLayout current="webhooks">
            <WebhooksPage />
          </SettingsLayout>
        ),
      };
    case '/settings':
    case '/settings/tokens':
      return {
        title: 'Personal Access Tokens',
        section: 'settings',
        render: () => (
          <SettingsLayout>
            <TokensPage isAdmin={me.account.isAdmin} />
          </SettingsLayout>
        ),
      };
    default:
      return NOT_FOUND;
  }
}

function Shell({ me, path, onSignedOut }: { me: MeResponse; path: string; onSignedOut: () => void }) {
  const route = routeFor(path, me);
  const tokens = useTokens(false);
  const now = useNow(tokens.data);
  const notices = useQuery(NOTICES_KEY, () => api.listNotices().then((body) => body.notices));
  const [signOutError, setSignOutError] = useState<string>();

  // The banner is about "now": every page change re-reads the tokens (once, shared with the page).
  const previousPath = useRef(path);
  useEffect(() => {
    if (previousPath.current === path) return;
    previousPath.current = path;
    invalidate(TOKENS_KEY);
    invalidate(NOTICES_KEY);
  }, [path]);

  useEffect(() => {
    document.title = `${route.title} · Latchkey`;
  }, [route.title]);

  const signOut = async () => {
    try {
      await api.signOut();
      setCsrfToken(undefined);
      onSignedOut();
      navigate(SIGN_IN_PATH, { replace: true });
    } catch (error) {
      setSignOutError(errorMessage(error));
    }
  };

  const navLink = (href: string, label: string, section: Route['section']) => (
    <Link href={href} aria-current={route.section === section ? 'page' : undefined}>
      {label}
    </Link>
  );

  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          Latchkey
        </Link>
        <nav aria-label="Main">
          {navLink('/', 'Overview', 'overview')}
          {navLink('/namespaces', 'Namespaces', 'namespaces')}
          {navLink('/settings/tokens', 'Settings', 'settings')}
          {me.account.isAdmin && navLink(ADMIN_PATHS.accounts, 'Admin', 'admin')}
        </nav>
        <div className="account">
          <span className="account-name">{me.account.email ?? me.account.name}</span>
          <button type="button" className="secondary small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      {signOutError && (
        <p role="alert" className="form-error page-alert">
          {signOutError}
        </p>
      )}
      {notices.data && (
        <ReportedTokensNotices
          notices={notices.data}
          onDismiss={async (id) => {
            await api.dismissNotice(id);
            invalidate(NOTICES_KEY);
          }}
        />
      )}
      {tokens.data && <ExpiryBanner tokens={tokens.data} now={now} />}
      <main id="main" tabIndex={-1}>
        {route.render()}
      </main>
    </>
  );
}

function SettingsLayout({ children, current = 'tokens' }: { children: ReactNode; current?: 'tokens' | 'notifications' | 'webhooks' }) {
  return (
    <div className="settings">
      <nav aria-label="Settings" className="settings-nav">
        <p className="settings-title">Settings</p>
        {/* The token pages are part of this section: the link stays current on them. */}
        <Link href="/settings/tokens" aria-current={current === 'tokens' ? 'page' : undefined}>
          Personal Access Tokens
        </Link>
        <Link href="/settings/notifications" aria-current={current === 'notifications' ? 'page' : undefined}>
          Notifications
        </Link>
        <Link href="/settings/webhooks" aria-current={current === 'webhooks' ? 'page' : undefined}>
          Webhooks
        </Link>
      </nav>
      <div className="settings-content">{children}</div>
    </div>
  );
}

const ADMIN_NAV: { key: keyof typeof ADMIN_PATHS; label: string }[] = [
  { key: 'accounts', label: 'Accounts' },
  { key: 'tokens', label: 'Tokens' },
  { key: 'audit', label: 'Audit log' },
  { key: 'serviceAccounts', label: 'Service accounts' },
  { key: 'policy', label: 'Policy' },
  { key: 'throttles', label: 'Throttled addresses' },
];

function AdminLayout({ current, children }: { current: keyof typeof ADMIN_PATHS; children: ReactNode }) {
  return (
    <div className="settings">
      <nav aria-label="Admin" className="settings-nav">
        <p className="settings-title">Admin</p>
        {ADMIN_NAV.map(({ key, label }) => (
          <Link key={key} href={ADMIN_PATHS[key]} aria-current={current === key ? 'page' : undefined}>
            {label}
          </Link>
        ))}
      </nav>
      <div className="settings-content">{children}</div>
    </div>
  );
}
