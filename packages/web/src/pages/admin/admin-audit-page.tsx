/**
 * Admin › Audit log (/admin/audit): the audit trail, newest first, filtered by actor (email or
 * account id), token, action and a time range, a page at a time. Export downloads every event the
 * filters match as NDJSON (the same GET with `Accept: application/x-ndjson`).
 */
import type { AdminAuditEventView, AdminAuditQuery, AdminAccountView } from '@latchkey/contract';
import { useState, type FormEvent } from 'react';
import { api, errorMessage } from '../../api.js';
import { FormError } from '../../components/form-parts.js';
import { useQuery } from '../../query.js';
import { formatDateTime } from '../../time.js';
import { useAction } from '../../use-action.js';
import { usePaged } from '../../use-paged.js';
import { accountLabel } from './admin-accounts-page.js';
import { ADMIN_KEY, PagedTable, adminKey } from './admin-common.js';
import { resolveAccount } from './admin-tokens-page.js';

export interface AdminAuditClient {
  listAudit: typeof api.admin.listAudit;
  listAccounts: typeof api.admin.listAccounts;
  exportAudit: (query: Omit<AdminAuditQuery, 'cursor' | 'limit'>) => Promise<Blob>;
}

/** What an audited action reads as; unknown actions show as they are. */
export const AUDIT_ACTION_LABELS: Record<string, string> = {
  'token.created': 'Token created',
  'token.revoked': 'Token revoked',
  'namespace.created': 'Namespace created',
  'namespace.deleted': 'Namespace deleted',
  'account.disabled': 'Account disabled',
  'account.enabled': 'Account enabled',
  'account.deleted': 'Account deleted',
  'account.admin_granted': 'Administration granted',
  'account.admin_revoked': 'Administration revoked',
};

/** A `datetime-local` value (the browser's time zone) as RFC 3339 UTC; undefined when empty or invalid. */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const time = new Date(value).getTime();
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** The export's file name, e.g. latchkey-audit-2026-03-01T12-00-00Z.ndjson. */
export const exportFileName = (now: number) => `latchkey-audit-${new Date(now).toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-')}.ndjson`;

function download(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function AdminAuditPage({ client = api.admin, save = download }: { client?: AdminAuditClient; save?: (blob: Blob, name: string) => void }) {
  const [actor, setActor] = useState('');
  const [token, setToken] = useState('');
  const [action, setAction] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [filters, setFilters] = useState<Omit<AdminAuditQuery, 'cursor' | 'limit'>>({});
  const [filterError, setFilterError] = useState<string>();
  const events = usePaged(adminKey('audit', filters), (cursor) =>
    client.listAudit({ ...filters, cursor }).then((page) => ({ items: page.events, nextCursor: page.nextCursor })),
  );
  // Actors by email rather than id: the first 200 accounts cover most servers; others show their id.
  const accounts = useQuery(`${ADMIN_KEY}/audit-accounts`, () => client.listAccounts({ state: 'all', limit: 200 }).then((page) => page.accounts));
  const exporting = useAction(async () => save(await client.exportAudit(filters), exportFileName(Date.now())));

  const apply = async (event: FormEvent) => {
    event.preventDefault();
    setFilterError(undefined);
    try {
      setFilters({
        actor: await resolveAccount(actor, client),
        token: token.trim() || undefined,
        action: action.trim() || undefined,
        since: localToIso(since),
        until: localToIso(until),
      });
    } catch (error) {
      setFilterError(error instanceof Error && !('status' in error) ? error.message : errorMessage(error));
    }
  };

  const byId = new Map<string, AdminAccountView>((accounts.data ?? []).map((account) => [account.id, account]));
  const actorName = (event: AdminAuditEventView) => {
    const id = event.actor.accountId;
    if (id === null) return <span className="muted">Server</span>;
    const account = byId.get(id);
    return account ? accountLabel(account) : <code>{id}</code>;
  };

  return (
    <>
      <div className="page-header">
        <h1>Audit log</h1>
        <button type="button" onClick={exporting.run} disabled={exporting.busy} aria-busy={exporting.busy || undefined}>
          Export
        </button>
      </div>
      <p className="lead">What was done on this server, by whom, newest first. Export downloads every event matching the filters (NDJSON).</p>
      <FormError message={exporting.error} />
      <form className="filters" role="search" aria-label="Filter the audit log" onSubmit={apply}>
        <div className="field">
          <label htmlFor="admin-audit-actor">Actor</label>
          <input id="admin-audit-actor" value={actor} placeholder="Email or account id" onChange={(event) => setActor(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="admin-audit-token">Token id</label>
          <input id="admin-audit-token" value={token} onChange={(event) => setToken(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="admin-audit-action">Action</label>
          <input id="admin-audit-action" value={action} placeholder="e.g. token.revoked" list="admin-audit-actions" onChange={(event) => setAction(event.target.value)} />
          <datalist id="admin-audit-actions">
            {Object.keys(AUDIT_ACTION_LABELS).map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="admin-audit-since">Since</label>
          <input id="admin-audit-since" type="datetime-local" value={since} onChange={(event) => setSince(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="admin-audit-until">Until</label>
          <input id="admin-audit-until" type="datetime-local" value={until} onChange={(event) => setUntil(event.target.value)} />
        </div>
        <button type="submit" className="secondary">
          Apply filters
        </button>
      </form>
      <FormError message={filterError} />

      <PagedTable
        what="audit events"
        caption="Audit events"
        columns={['When', 'Action', 'Actor', 'Token', 'Address', 'Target', 'Detail']}
        list={events}
        empty="No audit event matches these filters."
        row={(event) => (
          <tr key={event.id} data-event-id={event.id} data-action={event.action}>
            <td data-label="When">
              <time dateTime={event.occurredAt}>{formatDateTime(event.occurredAt)}</time>
            </td>
            <th scope="row" data-label="Action">
              {AUDIT_ACTION_LABELS[event.action] ?? <code>{event.action}</code>}
            </th>
            <td data-label="Actor">{actorName(event)}</td>
            <td data-label="Token">
              {event.actor.tokenId ? <code>{event.actor.tokenId}</code> : <span className="muted">{event.actor.accountId ? 'Console' : '—'}</span>}
            </td>
            <td data-label="Address">{event.actor.ip ?? <span className="muted">—</span>}</td>
            <td data-label="Target">
              <code>{event.targetId}</code>
            </td>
            <td data-label="Detail">
              {Object.keys(event.detail).length > 0 ? <code className="audit-detail">{JSON.stringify(event.detail)}</code> : <span className="muted">—</span>}
            </td>
            <td className="actions" data-label="" />
          </tr>
        )}
      />
    </>
  );
}
