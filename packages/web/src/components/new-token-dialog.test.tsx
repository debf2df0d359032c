// @vitest-environment happy-dom
import { DAY_MS, DEFAULT_TOKEN_SCOPES, type CreateTokenRequest, type CreateTokenResponse, type TokenSettingsView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { NewTokenDialog } from './new-token-dialog.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
/** What the dialog sends when nobody touches the permissions: Full access. */
const FULL = [...DEFAULT_TOKEN_SCOPES];
const SECRET = `lk_pat_1${'A'.repeat(43)}000000`;
/** What GET /api/v1/token-settings answers with the default TOKEN_MAX_LIFETIME_DAYS. */
const DEFAULT_SETTINGS: TokenSettingsView = { maxLifetimeDays: 180, defaultLifetimeDays: 180, lifetimeChoices: [7, 30, 60, 90, 180] };

function created(name: string, input: Partial<CreateTokenRequest> = {}): CreateTokenResponse {
  return {
    secret: SECRET,
    token: {
      id: 'tok_1',
      name,
      note: null,
      scopes: [...(input.scopes ?? DEFAULT_TOKEN_SCOPES)],
      namespaces: input.namespaces ?? null,
      allowedIps: input.allowedIps ?? null,
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
  { isAdmin = false } = {},
) {
  const onClose = vi.fn();
  const onCreated = vi.fn();
  render(
    <NewTokenDialog onClose={onClose} onCreated={onCreated} create={create} loadSettings={async () => settings} now={NOW} isAdmin={isAdmin} />,
  );
  await screen.findByLabelText('Expiration');
  return { onClose, onCreated };
}

const advanced = () => document.querySelector('details.advanced') as HTMLDetailsElement;

function openAdvanced() {
  fireEvent.click(screen.getByText('Advanced'));
  // happy-dom does not toggle <details> on a click of its summary as browsers do.
  if (!advanced().open) {
    advanced().open = true;
    fireEvent(advanced(), new Event('toggle'));
  }
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
    expect(create).toHaveBeenCalledWith({ name: 'ci', scopes: FULL, expiresInDays: 30 });
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
    expect(create).toHaveBeenCalledWith({ name: 'ci', scopes: FULL, expiresInDays: 30 });
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
    expect(create).toHaveBeenCalledWith({ name: 'ci', scopes: FULL });
  });

  it('sends a custom date as the start of that local day', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created(input.name));
    await renderDialog(create);
    fireEvent.change(screen.getByLabelText('Expiration'), { target: { value: 'date' } });
    fireEvent.change(screen.getByLabelText('Expiration date'), { target: { value: '2026-04-15' } });
    await generate('dated');
    expect(create).toHaveBeenCalledWith({ name: 'dated', scopes: FULL, expiresAt: new Date(2026, 3, 15).toISOString() });
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
    openAdvanced();
    const note = screen.getByLabelText('Note') as HTMLInputElement;
    expect(note.maxLength).toBe(200);
    expect(note.required).toBe(false);
    expect(screen.getByText('Where is this token used?')).toBeTruthy();
    fireEvent.change(note, { target: { value: 'GitHub Actions in acme/web' } });
    await generate('ci');
    expect(create).toHaveBeenCalledWith({ name: 'ci', scopes: FULL, note: 'GitHub Actions in acme/web', expiresInDays: 180 });
  });

  it('omits the note when it is left empty or only blank', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created(input.name));
    await renderDialog(create);
    await generate('ci');
    expect(create).toHaveBeenLastCalledWith({ name: 'ci', scopes: FULL, expiresInDays: 180 });
    expect(create.mock.calls[0]![0]).not.toHaveProperty('note');
    cleanup();

    await renderDialog(create);
    openAdvanced();
    fireEvent.change(screen.getByLabelText('Note'), { target: { value: '   ' } });
    await generate('ci-2');
    expect(create).toHaveBeenLastCalledWith({ name: 'ci-2', scopes: FULL, expiresInDays: 180 });
  });

  it('shows a note the server refuses at the Note field', async () => {
    const create = vi.fn(async () => {
      throw new ApiError(422, 'VALIDATION_FAILED', 'Validation failed', 'The request has invalid fields.', [
        { pointer: '/note', detail: 'must be at most 200 characters' },
      ]);
    });
    await renderDialog(create);
    openAdvanced();
    fireEvent.change(screen.getByLabelText('Note'), { target: { value: 'x' } });
    await generate('ci');
    expect(screen.getByText('Note must be at most 200 characters.')).toBeTruthy();
    expect(screen.getByLabelText('Note').getAttribute('aria-invalid')).toBe('true');
  });

  describe('Permissions', () => {
    const creating = () => vi.fn(async (input: CreateTokenRequest) => created(input.name, input));

    it('is a radio group with a legend, Full access selected; a name and Generate sends Full access explicitly', async () => {
      const create = creating();
      await renderDialog(create);
      const group = screen.getByRole('group', { name: 'Permissions' });
      const radios = [...group.querySelectorAll('input[type="radio"]')] as HTMLInputElement[];
      expect(radios.map((radio) => screen.getByLabelText(radio.labels![0]!.textContent!) === radio)).toEqual([true, true, true, true]);
      expect(radios.map((radio) => radio.labels![0]!.textContent)).toEqual(['Full access', 'Read only', 'Preview environments', 'Custom']);
      expect((screen.getByRole('radio', { name: 'Full access' }) as HTMLInputElement).checked).toBe(true);
      await generate('seed');
      expect(create).toHaveBeenCalledWith({ name: 'seed', scopes: ['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write'], expiresInDays: 180 });
      expect(create.mock.calls[0]![0]).not.toHaveProperty('namespaces');
      expect(create.mock.calls[0]![0]).not.toHaveProperty('allowedIps');
    });

    it('Read only sends namespaces:read and tokens:read', async () => {
      const create = creating();
      await renderDialog(create);
      fireEvent.click(screen.getByRole('radio', { name: 'Read only' }));
      await generate('reader');
      expect(create).toHaveBeenCalledWith({ name: 'reader', scopes: ['namespaces:read', 'tokens:read'], expiresInDays: 180 });
    });

    it('Preview environments sends namespaces:read and :write restricted to preview-*, shown under Advanced', async () => {
      const create = creating();
      await renderDialog(create);
      fireEvent.click(screen.getByRole('radio', { name: 'Preview environments' }));
      openAdvanced();
      expect((screen.getByLabelText('Namespaces') as HTMLTextAreaElement).value).toBe('preview-*');
      await generate('ci-preview');
      expect(create).toHaveBeenCalledWith({
        name: 'ci-preview',
        scopes: ['namespaces:read', 'namespaces:write'],
        namespaces: ['preview-*'],
        expiresInDays: 180,
      });
      // Back to Full access: the preset's namespaces go with it.
      cleanup();
      await renderDialog(create);
      fireEvent.click(screen.getByRole('radio', { name: 'Preview environments' }));
      fireEvent.click(screen.getByRole('radio', { name: 'Full access' }));
      openAdvanced();
      expect((screen.getByLabelText('Namespaces') as HTMLTextAreaElement).value).toBe('');
    });

    it('a preset never overwrites namespaces the person typed', async () => {
      const create = creating();
      await renderDialog(create);
      openAdvanced();
      fireEvent.change(screen.getByLabelText('Namespaces'), { target: { value: 'staging' } });
      fireEvent.click(screen.getByRole('radio', { name: 'Preview environments' }));
      expect((screen.getByLabelText('Namespaces') as HTMLTextAreaElement).value).toBe('staging');
    });

    it('Custom offers a labelled checkbox per scope (no admin scopes for a non-administrator), starting from the preset chosen before', async () => {
      const create = creating();
      await renderDialog(create);
      fireEvent.click(screen.getByRole('radio', { name: 'Read only' }));
      fireEvent.click(screen.getByRole('radio', { name: 'Custom' }));
      const boxes = screen.getAllByRole('checkbox') as HTMLInputElement[];
      expect(boxes.map((box) => box.labels![0]!.textContent)).toEqual([
        'namespaces:read',
        'namespaces:write',
        'tokens:read',
        'tokens:write',
        'introspect',
      ]);
      expect(boxes.filter((box) => box.checked).map((box) => box.labels![0]!.textContent)).toEqual(['namespaces:read', 'tokens:read']);
      expect(screen.getByText('Check other tokens on behalf of a service: RFC 7662 introspection and the revocation stream')).toBeTruthy();
      fireEvent.click(screen.getByLabelText('introspect'));
      fireEvent.click(screen.getByLabelText('tokens:read'));
      await generate('introspector');
      expect(create).toHaveBeenCalledWith({ name: 'introspector', scopes: ['namespaces:read', 'introspect'], expiresInDays: 180 });
    });

    it('offers admin:read and admin:write to an administrator', async () => {
      const create = creating();
      await renderDialog(create, DEFAULT_SETTINGS, { isAdmin: true });
      fireEvent.click(screen.getByRole('radio', { name: 'Custom' }));
      fireEvent.click(screen.getByLabelText('admin:read'));
      expect(screen.getByLabelText('admin:write')).toBeTruthy();
      await generate('auditor');
      expect(create).toHaveBeenCalledWith({
        name: 'auditor',
        scopes: ['namespaces:read', 'namespaces:write', 'tokens:read', 'tokens:write', 'admin:read'],
        expiresInDays: 180,
      });
    });
    it('names a refused scope in the message at Permissions', async () => {
      const create = vi.fn(async () => {
        throw new ApiError(422, 'VALIDATION_FAILED', 'Validation failed', 'The request has invalid fields.', [
          { pointer: '/scopes/1', detail: 'is beyond what this account may grant' },
        ]);
      });
      await renderDialog(create, DEFAULT_SETTINGS, { isAdmin: true });
      fireEvent.click(screen.getByRole('radio', { name: 'Custom' }));
      for (const box of screen.getAllByRole('checkbox') as HTMLInputElement[]) if (box.checked) fireEvent.click(box);
      fireEvent.click(screen.getByLabelText('namespaces:read'));
      fireEvent.click(screen.getByLabelText('admin:write'));
      await generate('ci');
      expect(screen.getByText('“admin:write” is beyond what this account may grant.')).toBeTruthy();
    });
  });

  describe('Advanced', () => {
    it('is collapsed at first, holding nothing, and open holds Namespaces, Allowed IP addresses and Note, each labelled', async () => {
      await renderDialog(vi.fn());
      expect(advanced().open).toBe(false);
      expect(advanced().querySelectorAll('input, textarea')).toHaveLength(0);
      openAdvanced();
      expect(advanced().open).toBe(true);
      for (const label of ['Namespaces', 'Allowed IP addresses', 'Note']) expect(advanced().contains(screen.getByLabelText(label))).toBe(true);
    });

    it('keeps what was typed when closed and opened again', async () => {
      const create = vi.fn(async (input: CreateTokenRequest) => created(input.name, input));
      await renderDialog(create);
      openAdvanced();
      fireEvent.change(screen.getByLabelText('Allowed IP addresses'), { target: { value: '192.0.2.7' } });
      advanced().open = false;
      fireEvent(advanced(), new Event('toggle'));
      expect(screen.queryByLabelText('Allowed IP addresses')).toBeNull();
      await generate('ci');
      expect(create).toHaveBeenCalledWith({ name: 'ci', scopes: FULL, allowedIps: ['192.0.2.7'], expiresInDays: 180 });
    });

    it('sends namespaces separated by commas or lines and addresses one per line, trimmed, only when filled', async () => {
      const create = vi.fn(async (input: CreateTokenRequest) => created(input.name, input));
      await renderDialog(create);
      openAdvanced();
      fireEvent.change(screen.getByLabelText('Namespaces'), { target: { value: ' preview-*, staging\nqa-* \n\n' } });
      fireEvent.change(screen.getByLabelText('Allowed IP addresses'), { target: { value: '10.0.0.0/8\n 2001:db8::/32 \n' } });
      await generate('ci');
      expect(create).toHaveBeenCalledWith({
        name: 'ci',
        scopes: FULL,
        namespaces: ['preview-*', 'staging', 'qa-*'],
        allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
        expiresInDays: 180,
      });

      cleanup();
      await renderDialog(create);
      openAdvanced();
      fireEvent.change(screen.getByLabelText('Namespaces'), { target: { value: ' , \n' } });
      fireEvent.change(screen.getByLabelText('Allowed IP addresses'), { target: { value: '   ' } });
      await generate('ci-2');
      expect(create).toHaveBeenLastCalledWith({ name: 'ci-2', scopes: FULL, expiresInDays: 180 });
    });

    it('shows server errors for /allowedIps/0, /namespaces/1 and /scopes at their fields, naming the entry, and opens Advanced', async () => {
      const create = vi.fn(async () => {
        throw new ApiError(422, 'VALIDATION_FAILED', 'Validation failed', 'The request has invalid fields.', [
          { pointer: '/allowedIps/0', detail: 'must be an IP address or CIDR range' },
          { pointer: '/namespaces/1', detail: 'must be a namespace name or a prefix ending in "*"' },
          { pointer: '/scopes', detail: 'must name at least one scope' },
        ]);
      });
      await renderDialog(create);
      fireEvent.click(screen.getByRole('radio', { name: 'Custom' }));
      for (const box of screen.getAllByRole('checkbox') as HTMLInputElement[]) if (box.checked) fireEvent.click(box);
      openAdvanced();
      fireEvent.change(screen.getByLabelText('Namespaces'), { target: { value: 'ok, Bad_Name' } });
      fireEvent.change(screen.getByLabelText('Allowed IP addresses'), { target: { value: '10.0.0.300' } });
      // Closed again before sending: an error in it opens it.
      advanced().open = false;
      fireEvent(advanced(), new Event('toggle'));
      await generate('ci');
      expect(create).toHaveBeenCalledWith(expect.objectContaining({ scopes: [], namespaces: ['ok', 'Bad_Name'], allowedIps: ['10.0.0.300'] }));
      expect(advanced().open).toBe(true);

      const described = (element: HTMLElement) =>
        element
          .getAttribute('aria-describedby')!
          .split(' ')
          .map((id) => document.getElementById(id)!.textContent)
          .join(' | ');
      const ips = screen.getByLabelText('Allowed IP addresses');
      expect(ips.getAttribute('aria-invalid')).toBe('true');
      expect(described(ips)).toContain('“10.0.0.300” must be an IP address or CIDR range.');
      const namespaces = screen.getByLabelText('Namespaces');
      expect(namespaces.getAttribute('aria-invalid')).toBe('true');
      expect(described(namespaces)).toContain('“Bad_Name” must be a namespace name or a prefix ending in "*".');
      const permissions = screen.getByRole('group', { name: 'Permissions' });
      expect(described(permissions)).toBe('Permissions must name at least one scope.');
      // Every message has its field: nothing left over for the form.
      expect(screen.queryByRole('alert')).toBeNull();
    });
  });
});

describe('NewTokenDialog: the instance policy', () => {
  const radio = (name: string) => screen.getByRole('radio', { name }) as HTMLInputElement;

  it('offers only the allowed scopes in Custom, and disables a preset needing a disallowed scope with a note', async () => {
    const create = vi.fn(async (input: CreateTokenRequest) => created('reader', input));
    await renderDialog(create, { ...DEFAULT_SETTINGS, allowedScopes: ['namespaces:read', 'tokens:read', 'introspect'] });
    expect(radio('Full access').disabled).toBe(true);
    expect(radio('Preview environments').disabled).toBe(true);
    expect(radio('Read only').disabled).toBe(false);
    // The first allowed preset is chosen.
    expect(radio('Read only').checked).toBe(true);
    expect(screen.getByText(/policy does not allow namespaces:write, tokens:write on personal tokens/)).toBeTruthy();

    fireEvent.click(radio('Custom'));
    const offered = screen.getAllByRole('checkbox').map((box) => box.parentElement!.querySelector('code')!.textContent);
    expect(offered).toEqual(['namespaces:read', 'tokens:read', 'introspect']);

    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'reader' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Generate' })));
    expect(create.mock.calls[0]![0].scopes).toEqual(['namespaces:read', 'tokens:read']);
  });

  it('offers at most the policy\'s maximum lifetime', async () => {
    await renderDialog(vi.fn(), { maxLifetimeDays: 30, defaultLifetimeDays: 30, lifetimeChoices: [7, 30], allowedScopes: [...DEFAULT_TOKEN_SCOPES] });
    const options = [...(screen.getByLabelText('Expiration') as HTMLSelectElement).options].map((option) => option.value);
    expect(options).toEqual(['7', '30', 'date']);
    expect(radio('Full access').checked).toBe(true);
  });
});
