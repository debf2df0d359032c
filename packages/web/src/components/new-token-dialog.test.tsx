// @vitest-environment happy-dom
import { DAY_MS, type CreateTokenRequest, type CreateTokenResponse, type TokenSettingsView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { NewTokenDialog } from './new-token-dialog.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const SECRET = `lk_pat_1${'A'.repeat(43)}000000`;
/** What GET /api/v1/token-settings answers with the default TOKEN_MAX_LIFETIME_DAYS. */
const DEFAULT_SETTINGS: TokenSettingsView = { maxLifetimeDays: 180, defaultLifetimeDays: 180, lifetimeChoices: [7, 30, 60, 90, 180] };

function created(name: string): CreateTokenResponse {
  return {
    secret: SECRET,
    token: {
      id: 'tok_1',
      name,
      note: null,
      state: 'active',
      displayToken: 'lk_pat_1…0000',
      last4: '0000',
      createdAt: new Date(NOW).toISOString(),
      expiresAt: new Date(NOW + 180 * DAY_MS).toISOString(),
      lastUsedAt: null,
      lastUsedIp: null,
      revokedAt: null,
    },
  };
}

let writeText: ReturnType<typeof vi.fn>;

beforeEach(() => {
  writeText = vi.fn(async () => {});
  Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
});
afterEach(() => {
  cleanup();
  localStorage.clear();
});

async function renderDialog(
  create: (input: CreateTokenRequest) => Promise<CreateTokenResponse>,
  settings: TokenSettingsView = DEFAULT_SETTINGS,
) {
  const onClose = vi.fn();
  const onCreated = vi.fn();
  render(<NewTokenDialog onClose={onClose} onCreated={onCreated} create={create} loadSettings={async () => settings} now={NOW} />);
  await screen.findByLabelText('Expiration');
  return { onClose, onCreated };
}

async function generate(name: string) {
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: name } });
  await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Generate' })));
}

describe('NewTokenDialog', () => {
  it('asks for a name and an expiration defaulting to 180 days, shown as a date', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created(input.name));
    await renderDialog(create);
    expect(screen.getByRole('dialog', { name: 'New personal access token' })).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByLabelText('Name'));
    const expiration = screen.getByLabelText('Expiration') as HTMLSelectElement;
    expect(expiration.value).toBe('180');
    expect([...expiration.options].map((option) => option.value)).toEqual(['7', '30', '60', '90', '180', 'date']);
    expect(screen.getByText(/The token will expire on/).textContent).toContain('2026');

    fireEvent.change(expiration, { target: { value: '30' } });
    await generate('ci');
    expect(create).toHaveBeenCalledWith({ name: 'ci', expiresInDays: 30 });
  });

  it('offers only the lifetimes the server allows: under a 30-day maximum, 7 and 30 days, 30 by default', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created(input.name));
    await renderDialog(create, { maxLifetimeDays: 30, defaultLifetimeDays: 30, lifetimeChoices: [7, 30] });
    const expiration = screen.getByLabelText('Expiration') as HTMLSelectElement;
    expect([...expiration.options].map((option) => option.textContent)).toEqual(['7 days', '30 days (default)', 'Custom date…']);
    expect(expiration.value).toBe('30');
    fireEvent.change(expiration, { target: { value: 'date' } });
    const date = screen.getByLabelText('Expiration date') as HTMLInputElement;
    expect(date.max).toBe('2026-03-31');
    expect(date.value).toBe('2026-03-31');
    fireEvent.change(expiration, { target: { value: '30' } });
    await generate('ci');
    expect(create).toHaveBeenCalledWith({ name: 'ci', expiresInDays: 30 });
  });

  it('lets the date picker reach a maximum raised above 180 days', async () => {
    await renderDialog(vi.fn(), { maxLifetimeDays: 400, defaultLifetimeDays: 180, lifetimeChoices: [7, 30, 60, 90, 180, 400] });
    const expiration = screen.getByLabelText('Expiration') as HTMLSelectElement;
    expect(expiration.value).toBe('180');
    fireEvent.change(expiration, { target: { value: 'date' } });
    expect((screen.getByLabelText('Expiration date') as HTMLInputElement).max).toBe('2027-04-05');
  });

  it('still creates a token with the server default when the lifetimes cannot be loaded', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created(input.name));
    render(
      <NewTokenDialog
        onClose={vi.fn()}
        onCreated={vi.fn()}
        create={create}
        loadSettings={async () => {
          throw new ApiError(0, 'NETWORK', 'Network error', 'The server could not be reached.');
        }}
        now={NOW}
      />,
    );
    expect((await screen.findByRole('alert')).textContent).toContain('Could not load the expiration choices');
    await generate('ci');
    expect(create).toHaveBeenCalledWith({ name: 'ci' });
  });

  it('sends a custom date as the start of that local day', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created(input.name));
    await renderDialog(create);
    fireEvent.change(screen.getByLabelText('Expiration'), { target: { value: 'date' } });
    fireEvent.change(screen.getByLabelText('Expiration date'), { target: { value: '2026-04-15' } });
    await generate('dated');
    expect(create).toHaveBeenCalledWith({ name: 'dated', expiresAt: new Date(2026, 3, 15).toISOString() });
  });

  it('shows server validation messages at their fields', async () => {
    const create = vi.fn(async () => {
      throw new ApiError(422, 'VALIDATION_FAILED', 'Validation failed', 'The request has invalid fields.', [
        { pointer: '/name', detail: 'must not be empty' },
        { pointer: '/expiresAt', detail: 'must be at most 90 days from now' },
      ]);
    });
    await renderDialog(create);
    await generate(' ');
    const name = screen.getByLabelText('Name');
    expect(name.getAttribute('aria-invalid')).toBe('true');
    const nameError = document.getElementById(name.getAttribute('aria-describedby')!.split(' ')[1]!)!;
    expect(nameError.textContent).toBe('Name must not be empty.');
    expect(screen.getByText('Expiration must be at most 90 days from now.')).toBeTruthy();
  });

  it('shows a name conflict (409) at the name field', async () => {
    await renderDialog(async () => {
      throw new ApiError(409, 'CONFLICT', 'Conflict', 'You already have an active token with this name.');
    });
    await generate('taken');
    expect(screen.getByLabelText('Name').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('You already have an active token with this name.')).toBeTruthy();
  });

  it('shows the secret once with the warning; Copy writes the clipboard and says "Copied"', async () => {
    const { onCreated, onClose } = await renderDialog(async (input) => created(input.name));
    await generate('ci');
    expect(onCreated).toHaveBeenCalledOnce();
    const field = screen.getByLabelText('Your new token') as HTMLInputElement;
    expect(field.value).toBe(SECRET);
    expect(field.readOnly).toBe(true);
    expect(screen.getByText(/You won’t be able to see it again/)).toBeTruthy();

    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Copy' })));
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect(screen.getByRole('button', { name: 'Copied' })).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('Copied to the clipboard.');

    // Never stored anywhere but this component's state.
    expect(JSON.stringify({ ...localStorage })).not.toContain(SECRET);
    expect(JSON.stringify({ ...sessionStorage })).not.toContain(SECRET);
    expect(document.title).not.toContain(SECRET);
    expect(location.href).not.toContain(SECRET);

    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(onClose).toHaveBeenCalledOnce();
  });

  it('asks before discarding a secret nobody copied', async () => {
    const { onClose } = await renderDialog(async (input) => created(input.name));
    await generate('ci');
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(onClose).not.toHaveBeenCalled();
    expect(screen.getByRole('alert').textContent).toContain('You have not copied this token');
    fireEvent.click(screen.getByRole('button', { name: 'Keep it open' }));
    expect(screen.queryByRole('alert')).toBeNull();
    fireEvent(screen.getByRole('dialog'), new Event('cancel', { cancelable: true }));
    fireEvent.click(screen.getByRole('button', { name: 'Close without copying' }));
    expect(onClose).toHaveBeenCalledOnce();
  });

  it('falls back to selecting the token when the clipboard is refused', async () => {
    writeText.mockRejectedValueOnce(new Error('denied'));
    await renderDialog(async (input) => created(input.name));
    await generate('ci');
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Copy' })));
    expect(screen.getByRole('status').textContent).toMatch(/Could not copy/);
    expect(screen.getByRole('button', { name: 'Copy' })).toBeTruthy();
  });

  it('sends the note when one is filled in, up to 200 characters, and names the field "where is this token used"', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created(input.name));
    await renderDialog(create);
    const note = screen.getByLabelText('Note') as HTMLInputElement;
    expect(note.maxLength).toBe(200);
    expect(note.required).toBe(false);
    expect(screen.getByText('Where is this token used?')).toBeTruthy();
    fireEvent.change(note, { target: { value: 'GitHub Actions in acme/web' } });
    await generate('ci');
    expect(create).toHaveBeenCalledWith({ name: 'ci', note: 'GitHub Actions in acme/web', expiresInDays: 180 });
  });

  it('omits the note when it is left empty or only blank', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created(input.name));
    await renderDialog(create);
    await generate('ci');
    expect(create).toHaveBeenLastCalledWith({ name: 'ci', expiresInDays: 180 });
    expect(create.mock.calls[0]![0]).not.toHaveProperty('note');
    cleanup();

    await renderDialog(create);
    fireEvent.change(screen.getByLabelText('Note'), { target: { value: '   ' } });
    await generate('ci-2');
    expect(create).toHaveBeenLastCalledWith({ name: 'ci-2', expiresInDays: 180 });
  });

  it('shows a note the server refuses at the Note field', async () => {
    const create = vi.fn(async () => {
      throw new ApiError(422, 'VALIDATION_FAILED', 'Validation failed', 'The request has invalid fields.', [
        { pointer: '/note', detail: 'must be at most 200 characters' },
      ]);
    });
    await renderDialog(create);
    fireEvent.change(screen.getByLabelText('Note'), { target: { value: 'x' } });
    await generate('ci');
    expect(screen.getByText('Note must be at most 200 characters.')).toBeTruthy();
    expect(screen.getByLabelText('Note').getAttribute('aria-invalid')).toBe('true');
  });
});
