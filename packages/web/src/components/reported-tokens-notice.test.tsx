// @vitest-environment happy-dom
import type { NoticeView } from '@latchkey/contract';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api.js';
import { ReportedTokensNotices, TOKENS_PATH } from './reported-tokens-notice.js';

afterEach(cleanup);

function notice(id: string, tokens: Extract<NoticeView, { kind: 'tokens_reported' }>['tokens'], createdAt = '2026-03-01T12:00:00.000Z'): NoticeView {
  return { id, kind: 'tokens_reported', createdAt, tokens };
}

const region = () => screen.queryByRole('region', { name: 'Revoked tokens' });

// docs/security.md, item 35
describe('ReportedTokensNotices: the owner of a reported token is told', () => {
  it('says which token was revoked, when, and why, with its last four characters and a way to replace it', () => {
    render(<ReportedTokensNotices notices={[notice('n1', [{ id: 't1', name: 'deploy', last4: 'AbCd' }])]} onDismiss={vi.fn()} />);
    const text = region()!.textContent!;
    expect(text).toContain('1 token was revoked because it was reported as leaked');
    expect(text).toContain('deploy');
    expect(text).toContain('lk_pat_1…AbCd');
    expect(region()!.querySelector('time')!.getAttribute('dateTime')).toBe('2026-03-01T12:00:00.000Z');
    expect(screen.getByRole('link', { name: 'create a replacement' }).getAttribute('href')).toBe(`${TOKENS_PATH}?new=1`);
  });

  it('lists every token of a report in one notice, in the plural', () => {
    render(
      <ReportedTokensNotices
        notices={[
          notice('n1', [
            { id: 't1', name: 'ci', last4: 'AAAA' },
            { id: 't2', name: 'laptop', last4: 'BBBB' },
          ]),
        ]}
        onDismiss={vi.fn()}
      />,
    );
    expect(region()!.textContent).toContain('2 tokens were revoked because they were reported as leaked');
    expect(screen.getAllByRole('button', { name: 'Dismiss' })).toHaveLength(1);
    expect(region()!.textContent).toContain('lk_pat_1…BBBB');
  });

  it('shows nothing without notices', () => {
    render(<ReportedTokensNotices notices={[]} onDismiss={vi.fn()} />);
    expect(region()).toBeNull();
  });

  it('dismisses by id; a failure stays as a readable message and the button works again', async () => {
    const onDismiss = vi
      .fn<(id: string) => Promise<void>>()
      .mockRejectedValueOnce(new ApiError(503, 'UNAVAILABLE', 'Service unavailable'))
      .mockResolvedValueOnce(undefined);
    render(<ReportedTokensNotices notices={[notice('n7', [{ id: 't1', name: 'x', last4: 'ZZZZ' }])]} onDismiss={onDismiss} />);
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Dismiss' })));
    expect(onDismiss).toHaveBeenCalledWith('n7');
    expect(screen.getByRole('alert').textContent).toBe('The server is temporarily unavailable. Try again in a moment.');
    const button = screen.getByRole('button', { name: 'Dismiss' }) as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    await act(async () => fireEvent.click(button));
    expect(onDismiss).toHaveBeenCalledTimes(2);
  });

  it('renders a name carrying markup as text', () => {
    const name = '<img src=x onerror=alert(1)>';
    render(<ReportedTokensNotices notices={[notice('n1', [{ id: 't1', name, last4: 'AbCd' }])]} onDismiss={vi.fn()} />);
    const cell = region()!.querySelector('.token-name-text')!;
    expect(cell.textContent).toBe(name);
    expect(cell.children).toHaveLength(0);
    expect(region()!.querySelector('img')).toBeNull();
  });
});

describe('ReportedTokensNotices: a token used from outside its allowlist', () => {
  const outside = (note: string | null = null): Extract<NoticeView, { kind: 'token_outside_allowlist' }> => ({
    id: 'n9',
    kind: 'token_outside_allowlist',
    createdAt: '2026-03-01T12:00:00.000Z',
    token: { id: 'tok_7', name: 'ci-preview', last4: 'WxYz', note },
    ip: '203.0.113.9',
  });
  const outsideRegion = () => screen.queryByRole('region', { name: 'Tokens used outside their allowlist' });

  it('names the token and the address, with its note, when, and a way to the token', () => {
    render(<ReportedTokensNotices notices={[outside('GitHub Actions in acme/web')]} onDismiss={vi.fn()} />);
    const text = outsideRegion()!.textContent!;
    expect(text).toContain('Token ci-preview was used from 203.0.113.9, outside its allowlist');
    expect(outsideRegion()!.querySelector('em.token-name-text')!.textContent).toBe('ci-preview');
    expect(text).toContain('GitHub Actions in acme/web');
    expect(text).toContain('lk_pat_1…WxYz');
    expect(outsideRegion()!.querySelector('time')!.getAttribute('dateTime')).toBe('2026-03-01T12:00:00.000Z');
    expect(screen.getByRole('link', { name: 'review and delete it' }).getAttribute('href')).toBe(`${TOKENS_PATH}/tok_7`);
    expect(region()).toBeNull();
  });

  it('shows both kinds side by side, each dismissable by its id', async () => {
    const onDismiss = vi.fn(async () => {});
    render(<ReportedTokensNotices notices={[notice('n1', [{ id: 't1', name: 'deploy', last4: 'AbCd' }]), outside()]} onDismiss={onDismiss} />);
    expect(region()!.textContent).toContain('1 token was revoked');
    expect(outsideRegion()!.textContent).not.toContain('—');
    const dismiss = outsideRegion()!.querySelector('button')!;
    await act(async () => fireEvent.click(dismiss));
    expect(onDismiss).toHaveBeenCalledWith('n9');
  });

  it('renders a name, note and address carrying markup as text', () => {
    const markup = '<img src=x onerror=alert(1)>';
    render(
      <ReportedTokensNotices
        notices={[{ ...outside(markup), token: { id: 't', name: markup, last4: 'AbCd', note: markup }, ip: markup }]}
        onDismiss={vi.fn()}
      />,
    );
    expect(outsideRegion()!.querySelector('img')).toBeNull();
    expect(outsideRegion()!.textContent).toContain(`Token ${markup} was used from ${markup}`);
  });
});

describe('ReportedTokensNotices: a token an administrator revoked', () => {
  const byAdmin = (note: string | null = null): Extract<NoticeView, { kind: 'token_revoked_by_admin' }> => ({
    id: 'n11',
    kind: 'token_revoked_by_admin',
    createdAt: '2026-03-02T09:30:00.000Z',
    token: { id: 'tok_9', name: 'laptop', last4: 'QrSt', note },
  });
  const adminRegion = () => screen.queryByRole('region', { name: 'Tokens revoked by an administrator' });

  it('says an administrator revoked the token, naming it, with its note, when, and a way to replace it', () => {
    render(<ReportedTokensNotices notices={[byAdmin('my work laptop')]} onDismiss={vi.fn()} />);
    const text = adminRegion()!.textContent!;
    expect(text).toContain('An administrator revoked your token laptop');
    expect(adminRegion()!.querySelector('em.token-name-text')!.textContent).toBe('laptop');
    expect(text).toContain('my work laptop');
    expect(text).toContain('lk_pat_1…QrSt');
    expect(adminRegion()!.querySelector('time')!.getAttribute('dateTime')).toBe('2026-03-02T09:30:00.000Z');
    expect(screen.getByRole('link', { name: 'create a replacement' }).getAttribute('href')).toBe(`${TOKENS_PATH}?new=1`);
    expect(region()).toBeNull();
  });

  it('is dismissed by its id, beside the other kinds', async () => {
    const onDismiss = vi.fn(async () => {});
    render(<ReportedTokensNotices notices={[notice('n1', [{ id: 't1', name: 'deploy', last4: 'AbCd' }]), byAdmin()]} onDismiss={onDismiss} />);
    expect(region()).not.toBeNull();
    expect(adminRegion()!.textContent).not.toContain('—');
    await act(async () => fireEvent.click(adminRegion()!.querySelector('button')!));
    expect(onDismiss).toHaveBeenCalledWith('n11');
  });

  it('renders a name and note carrying markup as text', () => {
    const markup = '<img src=x onerror=alert(1)>';
    render(<ReportedTokensNotices notices={[{ ...byAdmin(markup), token: { id: 't', name: markup, last4: 'AbCd', note: markup } }]} onDismiss={vi.fn()} />);
    expect(adminRegion()!.querySelector('img')).toBeNull();
    expect(adminRegion()!.textContent).toContain(`An administrator revoked your token ${markup}`);
  });
});

describe('ReportedTokensNotices: tokens revoked as unused', () => {
  it('names the tokens and the idle days, and is dismissed by its id', async () => {
    const onDismiss = vi.fn(async () => {});
    render(
      <ReportedTokensNotices
        notices={[
          {
            id: 'idle1',
            kind: 'tokens_revoked_idle',
            createdAt: '2026-03-01T12:00:00.000Z',
            idleDays: 90,
            tokens: [
              { id: 't1', name: 'old-ci', last4: 'AbCd' },
              { id: 't2', name: 'laptop', last4: 'WxYz' },
            ],
          },
        ]}
        onDismiss={onDismiss}
      />,
    );
    const text = screen.getByRole('region', { name: 'Tokens revoked as unused' }).textContent!;
    expect(text).toContain('2 tokens were revoked because they were not used for 90 days');
    expect(text).toContain('old-ci');
    expect(text).toContain('lk_pat_1…WxYz');
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Dismiss' })));
    expect(onDismiss).toHaveBeenCalledWith('idle1');
  });
});

describe('ReportedTokensNotices: an administrator changed the account', () => {
  type Changed = Extract<NoticeView, { kind: 'account_changed_by_admin' }>;
  const changed = (id: string, change: Changed['change'], name?: string | null): Changed => ({
    id,
    kind: 'account_changed_by_admin',
    createdAt: '2026-03-01T12:00:00.000Z',
    change,
    ...(name === undefined ? {} : { name }),
  });
  const region = () => screen.getByRole('region', { name: 'Account changes by an administrator' });

  it('words each change, with when', () => {
    render(
      <ReportedTokensNotices
        notices={[
          changed('c1', 'admin_granted'),
          changed('c2', 'enabled'),
          changed('c3', 'admin_revoked'),
          changed('c4', 'renamed', 'Ada Lovelace'),
          changed('c5', 'renamed', null),
        ]}
        onDismiss={vi.fn()}
      />,
    );
    const items = [...region().querySelectorAll('li.notice strong')].map((strong) => strong.textContent);
    expect(items).toEqual([
      'An administrator made you an administrator',
      'An administrator re-enabled your account',
      'An administrator removed your administrator role',
      'An administrator changed your name to Ada Lovelace',
      'An administrator removed your name',
    ]);
    expect(region().querySelector('time')!.getAttribute('dateTime')).toBe('2026-03-01T12:00:00.000Z');
    expect(screen.getAllByRole('button', { name: 'Dismiss' })).toHaveLength(5);
  });

  it('is dismissed by its id, beside the other kinds', async () => {
    const onDismiss = vi.fn(async () => {});
    render(<ReportedTokensNotices notices={[notice('n1', [{ id: 't1', name: 'x', last4: 'ZZZZ' }]), changed('c9', 'admin_granted')]} onDismiss={onDismiss} />);
    const button = region().querySelector('button')!;
    await act(async () => fireEvent.click(button));
    expect(onDismiss).toHaveBeenCalledWith('c9');
    expect(onDismiss).toHaveBeenCalledTimes(1);
  });

  it('renders a new name carrying markup as text', () => {
    const name = '<img src=x onerror=alert(1)>';
    render(<ReportedTokensNotices notices={[changed('c1', 'renamed', name)]} onDismiss={vi.fn()} />);
    expect(region().querySelector('strong')!.textContent).toBe(`An administrator changed your name to ${name}`);
    expect(region().querySelector('img')).toBeNull();
  });
});

describe('ReportedTokensNotices: a webhook disabled after 3 days of failures', () => {
  const disabled: NoticeView = {
    id: 'w1',
    kind: 'webhook_disabled',
    createdAt: '2026-03-04T12:00:00.000Z',
    webhook: { id: 'h1', url: 'https://ci.example.com/hooks/<b>x</b>', description: null },
    failingSince: '2026-03-01T12:00:00.000Z',
  };

  it('names the endpoint, since when it failed, and the way to enable it again; dismissed by its id', async () => {
    const onDismiss = vi.fn().mockResolvedValue(undefined);
    render(<ReportedTokensNotices notices={[disabled]} onDismiss={onDismiss} />);
    const webhooks = screen.getByRole('region', { name: 'Disabled webhooks' });
    expect(webhooks.textContent).toContain('Webhook https://ci.example.com/hooks/<b>x</b> was disabled');
    expect([...webhooks.querySelectorAll('time')].map((time) => time.getAttribute('dateTime'))).toEqual([disabled.createdAt, '2026-03-01T12:00:00.000Z']);
    expect(webhooks.querySelector('b')).toBeNull();
    expect(screen.getByRole('link', { name: 'Webhooks' }).getAttribute('href')).toBe('/settings/webhooks');
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Dismiss' })));
    expect(onDismiss).toHaveBeenCalledWith('w1');
  });
});
