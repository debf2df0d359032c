// @vitest-environment happy-dom
import type { AdminAccountView, AdminAuditEventView, AdminAuditQuery } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api.js';
import { AdminAuditPage, exportFileName, localToIso, type AdminAuditClient } from './admin-audit-page.js';

afterEach(cleanup);

function event(extra: Partial<AdminAuditEventView> = {}): AdminAuditEventView {
  return {
    id: `ev_${Math.random().toString(36).slice(2)}`,
    occurredAt: '2026-03-01T12:00:00.000Z',
    action: 'account.disabled',
    actor: { accountId: 'acc_admin', tokenId: null, ip: '127.0.0.1' },
    targetId: 'acc_bob',
    detail: {},
    ...extra,
  };
}

function client(events: AdminAuditEventView[], extra: Partial<AdminAuditClient> = {}) {
  return {
    listAudit: vi.fn(async (_query: AdminAuditQuery) => ({ events, nextCursor: null })),
    listAccounts: vi.fn(async () => ({
      accounts: [{ id: 'acc_admin', email: 'admin@example.com', name: null } as AdminAccountView],
      nextCursor: null,
    })),
    exportAudit: vi.fn(async () => new Blob(['{}\n'])),
    ...extra,
  } satisfies AdminAuditClient;
}

const settle = () => act(async () => {});

describe('AdminAuditPage', () => {
  it('lists events with the action in words, the actor by email, and unknown actions as they are', async () => {
    render(<AdminAuditPage client={client([event(), event({ action: 'thing.done', actor: { accountId: null, tokenId: null, ip: null }, detail: { n: 1 } })])} />);
    await settle();
    const rows = screen.getAllByRole('row').slice(1);
    expect(within(rows[0]!).getByText('Account disabled')).toBeTruthy();
    expect(within(rows[0]!).getByText('admin@example.com')).toBeTruthy();
    expect(rows[0]!.textContent).toContain('127.0.0.1');
    expect(within(rows[1]!).getByText('thing.done')).toBeTruthy();
    expect(within(rows[1]!).getByText('Server')).toBeTruthy();
    expect(rows[1]!.textContent).toContain('{"n":1}');
  });

  it('filters by actor (email looked up), token, action and time range', async () => {
    const api = client([]);
    render(<AdminAuditPage client={api} />);
    await settle();
    fireEvent.change(screen.getByLabelText('Actor'), { target: { value: 'admin@example.com' } });
    fireEvent.change(screen.getByLabelText('Token id'), { target: { value: 'tok_1' } });
    fireEvent.change(screen.getByLabelText('Action'), { target: { value: 'account.disabled' } });
    fireEvent.change(screen.getByLabelText('Since'), { target: { value: '2026-03-01T10:00' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Apply filters' })));
    expect(api.listAudit).toHaveBeenLastCalledWith({
      actor: 'acc_admin',
      token: 'tok_1',
      action: 'account.disabled',
      since: new Date('2026-03-01T10:00').toISOString(),
      until: undefined,
      cursor: undefined,
    });
  });

  it('exports the current filters as an NDJSON download', async () => {
    const api = client([]);
    const save = vi.fn();
    render(<AdminAuditPage client={api} save={save} />);
    await settle();
    fireEvent.change(screen.getByLabelText('Action'), { target: { value: 'token.revoked' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Apply filters' })));
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Export' })));
    expect(api.exportAudit).toHaveBeenCalledWith(expect.objectContaining({ action: 'token.revoked' }));
    expect(save).toHaveBeenCalledWith(expect.any(Blob), expect.stringMatching(/^latchkey-audit-.*\.ndjson$/));
  });

  it('shows a failed export', async () => {
    const api = client([], { exportAudit: vi.fn(async () => Promise.reject(new ApiError(403, 'FORBIDDEN', 'Forbidden', 'Administrators only.'))) });
    render(<AdminAuditPage client={api} save={vi.fn()} />);
    await settle();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Export' })));
    expect(screen.getByRole('alert').textContent).toBe('Administrators only.');
  });
});

describe('audit helpers', () => {
  it('turns a local date-time into UTC and leaves empty or invalid out', () => {
    expect(localToIso('')).toBeUndefined();
    expect(localToIso('nonsense')).toBeUndefined();
    expect(localToIso('2026-03-01T10:00')).toBe(new Date('2026-03-01T10:00').toISOString());
  });

  it('names the export after the time, without colons', () => {
    expect(exportFileName(Date.parse('2026-03-01T12:00:00.123Z'))).toBe('latchkey-audit-2026-03-01T12-00-00Z.ndjson');
  });
});
