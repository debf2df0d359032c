/**
 * Admin › Tokens (/admin/tokens): the inventory of every account's tokens, newest first, with
 * their owner; filtered by owner (email or account id; `?owner=` from the Accounts page), state,
 * expiring within N days, unused for N days and scope. Revoke asks first, naming the token and its
 * owner; the owner then finds a notice in their console.
 */
import { TOKEN_SCOPES, TOKEN_STATES, type AdminTokenView, type AdminTokensQuery, type TokenScope, type TokenState } from '@latchkey/contract';
import { relativeTime } from '@latchkey/contract/relative-time';
import { useState, type FormEvent } from 'react';
import { api, errorMessage } from '../../api.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { lastUseSentence } from '../../components/delete-token-dialog.js';
import { FormError } from '../../components/form-parts.js';
import { StateBadge } from '../../components/state-badge.js';
import { invalidate } from '../../query.js';
import { useLocation } from '../../router.js';
import { formatDate, formatDateTime, useNow } from '../../time.js';
import { STATE_LABELS, stateOf } from '../../token-state.js';
import { usePaged } from '../../use-paged.js';
import { accountLabel } from './admin-accounts-page.js';
import { ADMIN_KEY, PagedTable, adminKey } from './admin-common.js';

type StateFilter = TokenState | 'all' | '';

export interface AdminTokensClient {
  listTokens: typeof api.admin.listTokens;
  listAccounts: typeof api.admin.listAccounts;
  revokeToken: (id: string) => Promise<unknown>;
}

/**
 * An owner as typed: an email is looked up (exact, any case) among the accounts; anything else
 * is taken as an account id. Undefined when nothing was typed.
 */
export async function resolveAccount(text: string, client: Pick<AdminTokensClient, 'listAccounts'>): Promise<string | undefined> {
  const value = text.trim();
  if (!value) return undefined;
  if (!value.includes('@')) return value;
  const page = await client.listAccounts({ search: value, state: 'all', limit: 200 });
  const match = page.accounts.find((account) => account.email?.toLowerCase() === value.toLowerCase());
  if (!match) throw new Error(`No account has the email ${value}.`);
  return match.id;
}

const wholeDays = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

export function AdminTokensPage({ client = api.admin }: { client?: AdminTokensClient }) {
  const location = useLocation();
  const initialOwner = new URLSearchParams(location.split('?')[1] ?? '').get('owner') ?? '';
  const [owner, setOwner] = useState(initialOwner);
  const [state, setState] = useState<StateFilter>('');
  const [expiring, setExpiring] = useState('');
  const [unused, setUnused] = useState('');
  const [scope, setScope] = useState<TokenScope | ''>('');
  const [filters, setFilters] = useState<AdminTokensQuery>(initialOwner ? { owner: initialOwner } : {});
  const [filterError, setFilterError] = useState<string>();
  const tokens = usePaged(adminKey('tokens', filters), (cursor) =>
    client.listTokens({ ...filters, cursor }).then((page) => ({ items: page.tokens, nextCursor: page.nextCursor })),
  );
  const now = useNow(tokens.items);
  const [revoking, setRevoking] = useState<AdminTokenView>();

  const apply = async (event: FormEvent) => {
    event.preventDefault();
    setFilterError(undefined);
    try {
      setFilters({
        owner: await resolveAccount(owner, client),
        state: state || undefined,
        expiringWithinDays: wholeDays(expiring),
        unusedForDays: wholeDays(unused),
        scope: scope || undefined,
      });
    } catch (error) {
      setFilterError(error instanceof Error && !('status' in error) ? error.message : errorMessage(error));
    }
  };

  return (
    <>
      <h1>Tokens</h1>
      <p className="lead">Every account's personal access tokens. Revoking one stops it at once; its owner is told in their console.</p>
      <form className="filters" role="search" aria-label="Filter tokens" onSubmit={apply}>
        <div className="field">
          <label htmlFor="admin-token-owner">Owner</label>
          <input id="admin-token-owner" value={owner} placeholder="Email or account id" onChange={(event) => setOwner(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="admin-token-state">State</label>
          <select id="admin-token-state" value={state} onChange={(event) => setState(event.target.value as StateFilter)}>
            <option value="">Not revoked</option>
            {TOKEN_STATES.map((value) => (
              <option key={value} value={value}>
                {STATE_LABELS[value]}
              </option>
            ))}
            <option value="all">All tokens</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="admin-token-expiring">Expiring within (days)</label>
          <input id="admin-token-expiring" type="number" min={0} step={1} inputMode="numeric" value={expiring} onChange={(event) => setExpiring(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="admin-token-unused">Unused for (days)</label>
          <input id="admin-token-unused" type="number" min={0} step={1} inputMode="numeric" value={unused} onChange={(event) => setUnused(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="admin-token-scope">Scope</label>
          <select id="admin-token-scope" value={scope} onChange={(event) => setScope(event.target.value as TokenScope | '')}>
            <option value="">Any scope</option>
            {TOKEN_SCOPES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="secondary">
          Apply filters
        </button>
      </form>
      <FormError message={filterError} />

      <PagedTable
        what="tokens"
        caption="Every account's tokens"
        columns={['Name', 'Owner', 'Token', 'State', 'Scopes', 'Expires', 'Last used']}
        list={tokens}
        empty="No token matches these filters."
        row={(token) => {
          const tokenState = stateOf(token, now);
          return (
            <tr key={token.id} data-token-id={token.id}>
              <th scope="row" className="token-name" data-label="Name">
                {token.name}
                {token.note && <span className="muted token-note">{token.note}</span>}
              </th>
              <td data-label="Owner">{accountLabel(token.owner)}</td>
              <td data-label="Token">
                <code className="nowrap">{token.displayToken}</code>
              </td>
              <td data-label="State">
                <StateBadge state={tokenState} />
              </td>
              <td data-label="Scopes">{token.scopes.join(', ')}</td>
              <td data-label="Expires">
                <time dateTime={token.expiresAt}>{formatDate(token.expiresAt)}</time>
                {tokenState !== 'revoked' && <span className="muted"> ({relativeTime(Date.parse(token.expiresAt), now)})</span>}
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
                {token.revokedAt ? (
                  <span className="muted">
                    Revoked <time dateTime={token.revokedAt}>{formatDateTime(token.revokedAt)}</time>
                  </span>
                ) : (
                  <button
                    type="button"
                    className="danger secondary small"
                    onClick={() => setRevoking(token)}
                    aria-label={`Revoke ${token.name} of ${accountLabel(token.owner)}`}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          );
        }}
      />

      {revoking && <RevokeTokenDialog token={revoking} now={now} client={client} onClose={() => setRevoking(undefined)} />}
    </>
  );
}

/** Revoke another account's token: names the token and its owner, and when it was last used. */
export function RevokeTokenDialog({
  token,
  now,
  client,
  onClose,
}: {
  token: AdminTokenView;
  now: number;
  client: Pick<AdminTokensClient, 'revokeToken'>;
  onClose: () => void;
}) {
  return (
    <ConfirmDialog
      title="Revoke token?"
      confirmLabel="Revoke Token"
      onClose={onClose}
      onConfirm={async () => {
        await client.revokeToken(token.id);
        onClose();
        invalidate(ADMIN_KEY);
      }}
    >
      <p>
        Revoke <strong className="token-name-text">{token.name}</strong> <code>{token.displayToken}</code>, owned by{' '}
        <strong className="token-name-text">{accountLabel(token.owner)}</strong>?
      </p>
      <p className="last-use">{lastUseSentence(token, now)}.</p>
      <p>Scripts using it stop working at once, and its owner is told in their console. This cannot be undone.</p>
    </ConfirmDialog>
  );
}
