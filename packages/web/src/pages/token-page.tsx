/**
 * Settings › Personal Access Tokens › one token (/settings/tokens/:id): what it may do (its
 * scopes, in words), where (its namespaces, its allowlist), its dates, the last addresses it was
 * used from and its recent actions (GET /api/v1/tokens/:id/activity), and Delete Token.
 */
import { SCOPE_DESCRIPTIONS, isTokenScope, type TokenActivityView, type TokenView } from '@latchkey/contract';
import { relativeTime } from '@latchkey/contract/relative-time';
import { useState, type ReactNode } from 'react';
import { ApiError, api } from '../api.js';
import { DeleteTokenDialog, lastUseSentence } from '../components/delete-token-dialog.js';
import { LoadError, Loading } from '../components/list-states.js';
import { StateBadge } from '../components/state-badge.js';
import { useQuery } from '../query.js';
import { Link, navigate } from '../router.js';
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

  return (
    <>
      {back}
      <div className="page-header">
        <h1 className="token-name-text">{view.name}</h1>
        {!view.revokedAt && (
          <button type="button" className="danger" onClick={() => setDeleting(true)}>
            Delete Token
          </button>
        )}
      </div>
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
