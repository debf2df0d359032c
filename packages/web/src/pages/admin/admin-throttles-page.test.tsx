// @vitest-environment happy-dom
import type { AdminThrottleView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api.js';
import { AdminThrottlesPage, type AdminThrottlesClient } from './admin-throttles-page.js';

afterEach(cleanup);

const THROTTLE: AdminThrottleView = { address: '203.0.113.9', failures: 42, since: '2026-03-01T12:00:00.000Z', until: '2026-03-01T12:03:30.000Z' };

function client(throttles: AdminThrottleView[], extra: Partial<AdminThrottlesClient> = {}) {
  return {
    listThrottles: vi.fn(async () => ({ throttles })),
    liftThrottle: vi.fn(async () => {}),
    ...extra,
  } satisfies AdminThrottlesClient;
}

const settle = () => act(async () => {});

describe('AdminThrottlesPage', () => {
  it('lists throttled addresses with their refused tokens', async () => {
    render(<AdminThrottlesPage client={client([THROTTLE, { ...THROTTLE, address: '2001:db8:1:2::/64', failures: 11 }])} />);
    await settle();
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.textContent).toContain('203.0.113.9');
    expect(rows[0]!.textContent).toContain('42');
    expect(rows[1]!.textContent).toContain('2001:db8:1:2::/64');
  });

  it('says so when none is throttled', async () => {
    render(<AdminThrottlesPage client={client([])} />);
    await settle();
    expect(screen.getByText('No address is throttled.')).toBeTruthy();
  });

  it('lifts one after a confirmation naming it; a failure stays in the dialog', async () => {
    const lift = vi.fn(async (_address: string) => {});
    const api = client([THROTTLE], { liftThrottle: lift });
    render(<AdminThrottlesPage client={api} />);
    await settle();
    fireEvent.click(screen.getByRole('button', { name: 'Lift 203.0.113.9' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Lift throttle?' });
    expect(dialog.textContent).toContain('203.0.113.9 is no longer slowed down and its 42 refused tokens are forgotten.');
    await act(async () => fireEvent.click(within(dialog).getByRole('button', { name: 'Lift Throttle' })));
    expect(lift).toHaveBeenCalledWith('203.0.113.9');
    expect(screen.queryByRole('alertdialog')).toBeNull();

    lift.mockImplementationOnce(async () => Promise.reject(new ApiError(404, 'NOT_FOUND', 'Not found', 'That address is not throttled.')));
    fireEvent.click(screen.getByRole('button', { name: 'Lift 203.0.113.9' }));
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Lift Throttle' })));
    expect(screen.getByRole('alertdialog').textContent).toContain('That address is not throttled.');
  });
});
