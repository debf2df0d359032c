/**
 * Settings › Personal Access Tokens › one token (/settings/tokens/:id): what it may do (its
 * scopes, in words), where (its namespaces, its allowlist), its dates, the last addresses it was
 * used from and its recent actions (GET /api/v1/tokens/:id/activity), Regenerate (also opened by
 * `?regenerate=1`, the expiry banner's link) and Delete Token. A rotated token shows its chain:
 * the token it replaced, the one that replaced it and, during the grace period, how its old
 * secret is still used.
 */
import { SCOPE_DESCRIPTIONS, isTokenScope, type TokenActivityView, type TokenView } from '@latchkey/contract';
import { relativeTime } from '@latchkey/contract/relative-time';
import { useState, type ReactNode } from 'react';
import { ApiError, api } from '../api.js';
import { DeleteTokenDialog, lastUseSentence } from '../components/delete-token-dialog.js';
import { LoadError, Loading } from '../components/list-states.js';
import { StateBadge } from '../components/state-badge.js';
import { useQuery } from '../query.js';
import { RegenerateTokenDialog } from '../components/regenerate-token-dialog.js';
import { Link, navigate, useLocation } from '../router.js';
import { formatDate, formatDateTime, timeAgo, useNow } from '../time.js';
import { stateOf } from '../token-state.js';
import { TOKENS_KEY, TOKENS_PAGE_PATH } from './tokens-page.js';

/** Under `tokens`, so whatever reloads the list (a delete, a page change) reloads these too. */
const tokenKey = (id: string) => `${TOKENS_KEY}/token:${id}`;
const activityKey = (id: string) => `${TOKENS_KEY}/activity:${id}`;

/** What an audited action reads as on the page. */
const ACTION_LABELS: Record<string, string> = {
  'token.created': 'Created a token',
  'token.revoked': 'Revoked a token',
  'token.rotated': 'Regenerated a token',
  'namespace.created': 'Created a namespace',
  'namespace.deleted': 'Deleted a namespace',
};

export interface TokenPageProps {
  id: string;
  /** For tests. */
  load?: (id: string) => Promise<TokenView>;
  loadActivity?: (id: string) => Promise<TokenActivityView>;
}

export function TokenPage({ id, load = api.getToken, loadActivity = api.tokenActivity }: TokenPageProps) {
  const token = useQuery(tokenKey(id), () => load(id));
  const activity = useQuery(activityKey(id), () => loadActivity(id));
  const now = useNow(token.data);
  const [deleting, setDeleting] = useState(false);
  const location = useLocation();
  const regenerating = new URLSearchParams(location.split('?')[1] ?? '').get('regenerate') === '1';
  const pagePath = `${TOKENS_PAGE_PATH}/${encodeURIComponent(id)}`;

  const back = (
    <p className="breadcrumb">
      <Link href={TOKENS_PAGE_PATH}>← Personal Access Tokens</Link>
    </p>
  );

  if (!token.data) {
    const missing = token.status === 'error' && token.error instanceof ApiError && token.error.status === 404;
    return (
      <>
        {back}
        {missing ? (
          <>
            <h1>Token not found</h1>
            <p>You have no token with this address. It may belong to another account.</p>
          </>
        ) : token.status === 'error' ? (
          <LoadError what="this token" error={token.error} onRetry={token.reload} />
        ) : (
          <Loading what="this token" />
        )}
      </>
    );
  }

  const view = token.data;
  const state = stateOf(view, now);
  const expiresAt = Date.parse(view.expiresAt);
  // A replaced, revoked or expired token cannot be regenerated (the server says TOKEN_NOT_ROTATABLE).
  const regenerable = !view.revokedAt && !view.replacedBy && state !== 'expired';

  return (
    <>
      {back}
      <div className="page-header">
        <h1 className="token-name-text">{view.name}</h1>
        <div className="page-actions">
          {regenerable && (
            <button type="button" onClick={() => navigate(`${pagePath}?regenerate=1`)}>
              Regenerate
            </button>
          )}
          {!view.revokedAt && (
            <button type="button" className="danger" onClick={() => setDeleting(true)}>
              Delete Token
            </button>
          )}
        </div>
      </div>
      {view.replacedBy && (
        <p className="rotation-status" role="status">
          <RotationSentence view={view} now={now} /> <Link href={`${TOKENS_PAGE_PATH}/${encodeURIComponent(view.replacedBy)}`}>See the new token</Link>
        </p>
      )}
      <p>
        <StateBadge state={state} /> <code>{view.displayToken}</code>
      </p>

      <dl className="details">
        <Detail term="Permissions">
          {view.scopes.length === 0 ? (
            <span className="muted">None</span>
          ) : (
            <ul className="scope-list">
              {view.scopes.map((scope) => (
                <li key={scope}>
                  <code>{scope}</code>
                  {isTokenScope(scope) && <span className="muted"> — {SCOPE_DESCRIPTIONS[scope]}</span>}
                </li>
              ))}
            </ul>
          )}
        </Detail>
        <Detail term="Namespaces">
          {view.namespaces === null ? 'Every namespace' : <CodeList items={view.namespaces} />}
        </Detail>
        <Detail term="Allowed from">{view.allowedIps === null ? 'Anywhere' : <CodeList items={view.allowedIps} />}</Detail>
        <Detail term="Note">{view.note ?? <span className="muted">None</span>}</Detail>
        <Detail term="Created">
          <time dateTime={view.createdAt}>{formatDateTime(view.createdAt)}</time>
        </Detail>
        <Detail term={state === 'expired' ? 'Expired' : 'Expires'}>
          <time dateTime={view.expiresAt}>{formatDate(expiresAt)}</time>
          {state !== 'revoked' && <span className="muted"> ({relativeTime(expiresAt, now)})</span>}
        </Detail>
        {view.revokedAt && (
          <Detail term="Revoked">
            <time dateTime={view.revokedAt}>{formatDateTime(view.revokedAt)}</time>
          </Detail>
        )}
        {view.rotatedFrom && (
          <Detail term="Replaces">
            <Link href={`${TOKENS_PAGE_PATH}/${encodeURIComponent(view.rotatedFrom)}`}>the token it was regenerated from</Link>
          </Detail>
        )}
        {view.replacedBy && (
          <Detail term="Replaced by">
            <Link href={`${TOKENS_PAGE_PATH}/${encodeURIComponent(view.replacedBy)}`}>its regenerated token</Link>
            {view.rotatedAt && (
              <>
                {' '}
                on <time dateTime={view.rotatedAt}>{formatDateTime(view.rotatedAt)}</time>
              </>
            )}
          </Detail>
        )}
        <Detail term="Last used">
          {view.lastUsedAt ? (
            <>
              {lastUseSentence(view, now)} (<time dateTime={view.lastUsedAt}>{formatDateTime(view.lastUsedAt)}</time>)
            </>
          ) : (
            <span className="muted">Never used</span>
          )}
        </Detail>
      </dl>

      <section aria-labelledby="token-addresses">
        <h2 id="token-addresses">Recent addresses</h2>
        {activity.data ? <Addresses activity={activity.data} now={now} /> : <ActivityState activity={activity} />}
      </section>
      <section aria-labelledby="token-activity">
        <h2 id="token-activity">Recent activity</h2>
        {activity.data ? <Events activity={activity.data} /> : <ActivityState activity={activity} />}
      </section>

      {regenerating && regenerable && (
        <RegenerateTokenDialog
          token={view}
          listKey={TOKENS_KEY}
          onClose={() => navigate(pagePath, { replace: true })}
          onDone={(created) => navigate(`${TOKENS_PAGE_PATH}/${encodeURIComponent(created.token.id)}`, { replace: true })}
        />
      )}
      {deleting && (
        <DeleteTokenDialog
          token={view}
          now={now}
          onClose={() => setDeleting(false)}
          listKey={TOKENS_KEY}
          onDeleted={() => navigate(TOKENS_PAGE_PATH)}
        />
      )}
    </>
  );
}

/**
 * "Rotating — old secret valid until 1 Mar 2026, 14:00, used 3 times since rotation, last from
 * 10.0.0.5 5 minutes ago", or once the grace period is over, "Regenerated: this secret no longer works".
 */
export function RotationSentence({ view, now }: { view: TokenView; now: number }) {
  const until = view.graceUntil ? Date.parse(view.graceUntil) : undefined;
  if (until === undefined || until <= now || view.revokedAt) return <>Regenerated: this token’s secret no longer works.</>;
  const uses = view.usesSinceRotation ?? 0;
  const last = view.lastUseSinceRotation;
  return (
    <>
      Rotating — old secret valid until <time dateTime={view.graceUntil!}>{formatDateTime(until)}</time>, used {uses}{' '}
      {uses === 1 ? 'time' : 'times'} since rotation
      {last && (
        <>
          , last {last.ip ? `from ${last.ip} ` : ''}
          <time dateTime={last.at}>{timeAgo(Date.parse(last.at), now)}</time>
        </>
      )}
      .
    </>
  );
}

function Detail({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function CodeList({ items }: { items: readonly string[] }) {
  return (
    <ul className="inline-list">
      {items.map((item) => (
        <li key={item}>
          <code>{item}</code>
        </li>
      ))}
    </ul>
  );
}

function ActivityState({ activity }: { activity: ReturnType<typeof useQuery<TokenActivityView>> }) {
  return activity.status === 'error' ? (
    <LoadError what="this token's activity" error={activity.error} onRetry={activity.reload} />
  ) : (
    <Loading what="this token's activity" />
  );
}

function Addresses({ activity, now }: { activity: TokenActivityView; now: number }) {
  if (activity.addresses.length === 0) return <p className="muted">Not used from any address yet.</p>;
  return (
    <table className="list compact">
      <caption className="visually-hidden">The last addresses this token was used from</caption>
      <thead>
        <tr>
          <th scope="col">Address</th>
          <th scope="col">Last used</th>
        </tr>
      </thead>
      <tbody>
        {activity.addresses.map((address) => (
          <tr key={address.ip}>
            <td data-label="Address">
              <code>{address.ip}</code>
            </td>
            <td data-label="Last used">
              <time dateTime={address.lastUsedAt}>{formatDateTime(address.lastUsedAt)}</time>
              <span className="muted"> ({timeAgo(Date.parse(address.lastUsedAt), now)})</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Events({ activity }: { activity: TokenActivityView }) {
  if (activity.events.length === 0) return <p className="muted">No actions recorded for this token.</p>;
  return (
    <table className="list compact">
      <caption className="visually-hidden">What this token did recently</caption>
      <thead>
        <tr>
          <th scope="col">Action</th>
          <th scope="col">On</th>
          <th scope="col">When</th>
          <th scope="col">From</th>
        </tr>
      </thead>
      <tbody>
        {activity.events.map((event, index) => (
          <tr key={`${event.occurredAt}-${index}`}>
            <td data-label="Action">{ACTION_LABELS[event.action] ?? <code>{event.action}</code>}</td>
            <td data-label="On" className="token-name-text">{event.target ?? <span className="muted">{event.targetId}</span>}</td>
            <td data-label="When">
              <time dateTime={event.occurredAt}>{formatDateTime(event.occurredAt)}</time>
            </td>
            <td data-label="From">{event.ip ? <code>{event.ip}</code> : <span className="muted">—</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
