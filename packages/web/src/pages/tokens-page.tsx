/**
 * Settings › Personal Access Tokens: the list, New Token, Delete, and the revoked filter. A row
 * opens the token's page (/settings/tokens/:id).
 */
import type { TokenView } from '@latchkey/contract';
import { relativeTime } from '@latchkey/contract/relative-time';
import { useRef, useState, type MouseEvent } from 'react';
import { api } from '../api.js';
import { DeleteTokenDialog } from '../components/delete-token-dialog.js';
import { Empty, ListTable, LoadError, Loading } from '../components/list-states.js';
import { NewTokenDialog, TOKEN_SETTINGS_KEY } from '../components/new-token-dialog.js';
import { PageHeader } from '../components/page-header.js';
import { StateBadge } from '../components/state-badge.js';
import { invalidate, useQuery } from '../query.js';
import { Link, navigate, useLocation } from '../router.js';
import { formatDate, formatDateTime, useNow } from '../time.js';
import { stateOf } from '../token-state.js';

export const TOKENS_KEY = 'tokens';
export const TOKENS_PAGE_PATH = '/settings/tokens';

/** A token's own page. */
export const tokenPagePath = (id: string) => `${TOKENS_PAGE_PATH}/${encodeURIComponent(id)}`;

export function useTokens(showRevoked = false) {
  return useQuery(`${TOKENS_KEY}:${showRevoked ? 'all' : 'unrevoked'}`, () =>
    api.listTokens(showRevoked ? 'all' : undefined).then((body) => body.tokens),
  );
}

export function TokensPage({ isAdmin = false }: { isAdmin?: boolean }) {
  const location = useLocation();
  const [showRevoked, setShowRevoked] = useState(false);
  const tokens = useTokens(showRevoked);
  const settings = useQuery(TOKEN_SETTINGS_KEY, api.tokenSettings);
  const defaultDays = settings.data?.defaultLifetimeDays;
  const now = useNow(tokens.data);
  // `?new=1` (the banner's link) opens the dialog; the URL never carries anything else.
  const creating = new URLSearchParams(location.split('?')[1] ?? '').get('new') === '1';
  const [revoking, setRevoking] = useState<TokenView>();
  const newTokenButton = useRef<HTMLButtonElement>(null);

  const openNew = () => navigate('/settings/tokens?new=1');
  const closeNew = () => {
    navigate('/settings/tokens', { replace: true });
    newTokenButton.current?.focus();
  };

  return (
    <>
      <PageHeader title="Personal Access Tokens" action="New Token" onAction={openNew} actionRef={newTokenButton} />
      <p className="lead">
        Tokens let scripts, CI pipelines and the <code>latchkey</code> CLI act as you. Treat them like passwords. Every token
        expires{defaultDays === undefined ? '' : ` after ${defaultDays} days unless you choose otherwise`}; an expired token
        cannot be renewed — create a new one.
      </p>
      <label className="checkbox">
        <input type="checkbox" checked={showRevoked} onChange={(event) => setShowRevoked(event.target.checked)} />
        Show revoked
      </label>

      {tokens.status === 'error' && !tokens.data && <LoadError what="your tokens" error={tokens.error} onRetry={tokens.reload} />}
      {tokens.status === 'loading' && !tokens.data && <Loading what="your tokens" />}
      {tokens.data && tokens.data.length === 0 && (
        <Empty>
          <p>{showRevoked ? 'You have no tokens, not even deleted ones.' : 'You have no personal access tokens yet.'}</p>
          <button type="button" className="secondary" onClick={openNew}>
            Create your first token
          </button>
        </Empty>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <>
          {tokens.status === 'error' && <LoadError what="your tokens" error={tokens.error} onRetry={tokens.reload} />}
          <TokenTable tokens={tokens.data} now={now} onRevoke={setRevoking} busy={tokens.status === 'loading'} />
        </>
      )}

      {creating && <NewTokenDialog onClose={closeNew} onCreated={() => invalidate(TOKENS_KEY)} isAdmin={isAdmin} />}
      {revoking && <DeleteTokenDialog token={revoking} now={now} onClose={() => setRevoking(undefined)} listKey={TOKENS_KEY} />}
    </>
  );
}

/** A click anywhere on a row opens the token's page, except on its own buttons and links. */
function openRow(event: MouseEvent<HTMLTableRowElement>, token: TokenView) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if ((event.target as Element).closest('a, button, input, label')) return;
  // Selecting text in a row is not a click on it.
  if (window.getSelection?.()?.toString()) return;
  navigate(tokenPagePath(token.id));
  window.scrollTo?.(0, 0);
}

function TokenTable({ tokens, now, onRevoke, busy }: { tokens: TokenView[]; now: number; onRevoke: (token: TokenView) => void; busy: boolean }) {
  return (
    <ListTable caption="Your personal access tokens" columns={['Name', 'Token', 'State', 'Expires', 'Created', 'Last used']} busy={busy}>
      {tokens.map((token) => {
        const state = stateOf(token, now);
        const expiresAt = Date.parse(token.expiresAt);
        return (
          <tr key={token.id} data-token-id={token.id} className="clickable" onClick={(event) => openRow(event, token)}>
            <th scope="row" className="token-name" data-label="Name">
              {token.name}
              {/* Where the token is used, as text (React escapes it), under the name. */}
              {token.note && <span className="muted token-note">{token.note}</span>}
            </th>
            <td data-label="Token">
              <code className="nowrap">{token.displayToken}</code>
            </td>
            <td data-label="State">
              <StateBadge state={state} />
            </td>
            <td data-label="Expires">
              <time dateTime={token.expiresAt}>{formatDate(expiresAt)}</time>
              {/* A revoked token will never expire: no countdown, the State column says why. */}
              {state !== 'revoked' && <span className="muted"> ({relativeTime(expiresAt, now)})</span>}
            </td>
            <td data-label="Created">
              <time dateTime={token.createdAt}>{formatDate(token.createdAt)}</time>
            </td>
            <td data-label="Last used">
              {token.lastUsedAt ? (
                <>
                  <time dateTime={token.lastUsedAt}>{formatDateTime(token.lastUsedAt)}</time>
                  {token.lastUsedIp && <span className="muted"> from {token.lastUsedIp}</span>}
                </>
              ) : (
                <span className="muted">Never used</span>
              )}
            </td>
            <td className="actions" data-label="">
              {/* The keyboard's (and screen reader's) way to the page a row click opens. */}
              <Link href={tokenPagePath(token.id)} className="row-link" aria-label={`Details of ${token.name}`}>
                Details
              </Link>
              {token.revokedAt ? (
                <span className="muted">
                  Revoked <time dateTime={token.revokedAt}>{formatDateTime(token.revokedAt)}</time>
                </span>
              ) : (
                <button type="button" className="danger secondary" onClick={() => onRevoke(token)} aria-label={`Delete ${token.name}`}>
                  Delete
                </button>
              )}
            </td>
          </tr>
        );
      })}
    </ListTable>
  );
}
