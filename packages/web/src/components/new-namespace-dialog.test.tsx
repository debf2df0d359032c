// @vitest-environment happy-dom
import type { NamespaceView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { NewNamespaceDialog, namespaceNameProblem } from './new-namespace-dialog.js';

afterEach(cleanup);

describe('namespaceNameProblem (DNS-1123 label)', () => {
  it.each([
    ['test-cindylopez', undefined],
    ['a', undefined],
    ['a'.repeat(63), undefined],
    ['', 'Enter a name.'],
    ['a'.repeat(64), 'Use at most 63 characters (this is 64).'],
    ['Team', 'Use lowercase letters only.'],
    ['team_a', 'Use only lowercase letters, digits and “-”.'],
    ['-team', 'Start and end with a letter or digit.'],
    ['team-', 'Start and end with a letter or digit.'],
  ])('%j → %s', (name, problem) => expect(namespaceNameProblem(name)).toBe(problem));
});

describe('NewNamespaceDialog', () => {
  it('validates inline as you type and only submits a valid name', async () => {
    const create = vi.fn(async ({ name }: { name: string }): Promise<NamespaceView> => ({ id: 'ns_1', name, createdAt: '2026-03-01T00:00:00Z' }));
    const onCreated = vi.fn();
    render(<NewNamespaceDialog onClose={() => {}} onCreated={onCreated} create={create} />);
    const field = screen.getByLabelText('Name');
    fireEvent.change(field, { target: { value: 'Bad_Name' } });
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('Use lowercase letters only.')).toBeTruthy();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Create Namespace' })));
    expect(create).not.toHaveBeenCalled();

    fireEvent.change(field, { target: { value: 'good-name' } });
    expect(field.getAttribute('aria-invalid')).toBeNull();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Create Namespace' })));
    expect(create).toHaveBeenCalledWith({ name: 'good-name' });
    expect(onCreated).toHaveBeenCalledOnce();
  });

  it('shows the server’s conflict at the field', async () => {
    render(
      <NewNamespaceDialog
        onClose={() => {}}
        onCreated={() => {}}
        create={async () => {
          throw new ApiError(409, 'CONFLICT', 'Conflict', 'The namespace "taken" already exists.');
        }}
      />,
    );
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'taken' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Create Namespace' })));
    expect(screen.getByText('The namespace "taken" already exists.')).toBeTruthy();
  });
});
