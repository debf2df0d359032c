// @vitest-environment happy-dom
import type { PolicyView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api.js';
import { AdminPolicyPage, daysProblem, type AdminPolicyClient } from './admin-policy-page.js';

afterEach(cleanup);

const SAVED: PolicyView = {
  maxLifetimeDays: 180,
  serviceMaxLifetimeDays: null,
  personalScopes: ['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write'],
  idleRevokeDays: null,
  updatedAt: null,
};

function client(extra: Partial<AdminPolicyClient> = {}) {
  let policy = SAVED;
  return {
    getPolicy: vi.fn(async () => policy),
    setPolicy: vi.fn(async (next: Omit<PolicyView, 'updatedAt'>) => (policy = { ...next, updatedAt: '2026-03-01T12:00:00.000Z' })),
    ...extra,
  } satisfies AdminPolicyClient;
}

const settle = () => act(async () => {});

describe('AdminPolicyPage', () => {
  it('shows the saved values and explains each field', async () => {
    render(<AdminPolicyPage client={client()} />);
    await settle();
    expect(screen.getByTestId('saved-max-lifetime').textContent).toBe('at most 180 days');
    expect(screen.getByTestId('saved-service-max-lifetime').textContent).toContain('no maximum');
    expect(screen.getByTestId('saved-idle-revoke').textContent).toBe('never revoked');
    expect(screen.getByTestId('saved-personal-scopes').textContent).toBe('namespaces:read, namespaces:write, tokens:read, tokens:write');
    expect((screen.getByLabelText('Maximum lifetime of personal tokens (days)') as HTMLInputElement).value).toBe('180');
    expect(screen.getByText(/The New Token dialog offers nothing longer/)).toBeTruthy();
    expect(screen.getByText(/Empty: idle tokens are never revoked/)).toBeTruthy();
  });

  it('validates before sending: days 1–3650, at least one scope', async () => {
    const api = client();
    render(<AdminPolicyPage client={api} />);
    await settle();
    fireEvent.change(screen.getByLabelText('Maximum lifetime of personal tokens (days)'), { target: { value: '0' } });
    fireEvent.change(screen.getByLabelText('Revoke tokens unused for (days)'), { target: { value: 'soon' } });
    for (const scope of SAVED.personalScopes) fireEvent.click(screen.getByRole('checkbox', { name: scope }));
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Save Policy' })));
    expect(screen.getByText('Must be at least 1 day.')).toBeTruthy();
    expect(screen.getByText('Enter a whole number of days.')).toBeTruthy();
    expect(screen.getByText('Allow at least one scope.')).toBeTruthy();
    expect(api.setPolicy).not.toHaveBeenCalled();
  });

  it('saves the whole policy (empty fields as null) and shows the new saved values', async () => {
    const api = client();
    render(<AdminPolicyPage client={api} />);
    await settle();
    fireEvent.change(screen.getByLabelText('Maximum lifetime of personal tokens (days)'), { target: { value: '30' } });
    fireEvent.change(screen.getByLabelText('Maximum lifetime of service account tokens (days)'), { target: { value: '365' } });
    fireEvent.change(screen.getByLabelText('Revoke tokens unused for (days)'), { target: { value: '90' } });
    fireEvent.click(screen.getByRole('checkbox', { name: 'tokens:write' }));
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Save Policy' })));
    expect(api.setPolicy).toHaveBeenCalledWith({
      maxLifetimeDays: 30,
      serviceMaxLifetimeDays: 365,
      personalScopes: ['namespaces:read', 'namespaces:write', 'tokens:read'],
      idleRevokeDays: 90,
    });
    await settle();
    expect(screen.getByRole('status').textContent).toBe('Policy saved.');
    expect(screen.getByTestId('saved-max-lifetime').textContent).toBe('at most 30 days');
    expect((screen.getByLabelText('Maximum lifetime of personal tokens (days)') as HTMLInputElement).value).toBe('30');
    fireEvent.change(screen.getByLabelText('Maximum lifetime of personal tokens (days)'), { target: { value: '31' } });
    expect(screen.getByRole('status').textContent).toBe('');
    expect(screen.getByTestId('saved-idle-revoke').textContent).toBe('revoked after 90 days unused');
  });

  it('places a server refusal at its field', async () => {
    const api = client({
      setPolicy: vi.fn(async () =>
        Promise.reject(new ApiError(422, 'VALIDATION_FAILED', 'Invalid', 'Invalid request body', [{ pointer: '/maxLifetimeDays', detail: 'must be at most 3650' }])),
      ),
    });
    render(<AdminPolicyPage client={api} />);
    await settle();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Save Policy' })));
    expect(screen.getByText('must be at most 3650')).toBeTruthy();
  });
});

describe('daysProblem', () => {
  it('accepts 1–3650 and, when optional, empty', () => {
    expect(daysProblem('1', false)).toBeUndefined();
    expect(daysProblem('3650', false)).toBeUndefined();
    expect(daysProblem('3651', false)).toBe('Must be at most 3650 days.');
    expect(daysProblem('', false)).toBe('Enter a number of days.');
    expect(daysProblem(' ', true)).toBeUndefined();
    expect(daysProblem('1.5', true)).toBe('Enter a whole number of days.');
  });
});
