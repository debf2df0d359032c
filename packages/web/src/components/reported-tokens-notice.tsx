/**
 * The notices an owner finds at the top of the console: after someone reported their tokens as
 * leaked (POST /api/v1/credentials/revoke), which tokens were revoked, when, and what to do; and
 * after one of their tokens was presented from an address outside its allowlist (and refused),
 * which token, from where; and after an administrator revoked one of their tokens (Admin ›
 * Tokens), which one; and after an administrator changed their account (re-enabled it, made them
 * an administrator or removed that role, changed their name), what. Each stays, on every page and visit, until the owner dismisses it
 * (like GitHub's security banners): a revocation they never saw would leave them wondering why
 * their scripts broke, and a refused use from elsewhere may mean the token has leaked.
 */
import type { ReactNode } from 'react';
import { maskToken, type NoticeView } from '@latchkey/contract';
import { Link } from '../router.js';
import { formatDateTime } from '../time.js';
import { useAction } from '../use-action.js';
import { FormError } from './form-parts.js';

export const TOKENS_PATH = '/settings/tokens';

type ReportedNotice = Extract<NoticeView, { kind: 'tokens_reported' }>;
type OutsideAllowlistNotice = Extract<NoticeView, { kind: 'token_outside_allowlist' }>;
type RevokedByAdminNotice = Extract<NoticeView, { kind: 'token_revoked_by_admin' }>;
type RevokedIdleNotice = Extract<NoticeView, { kind: 'tokens_revoked_idle' }>;
type ChangedByAdminNotice = Extract<NoticeView, { kind: 'account_changed_by_admin' }>;
type WebhookDisabledNotice = Extract<NoticeView, { kind: 'webhook_disabled' }>;

/** "1 token was revoked" / "3 tokens were revoked": the sentence the notice opens with. */
export function reportedTokensSummary(count: number): string {
  return count === 1
    ? '1 token was revoked because it was reported as leaked'
    : `${count} tokens were revoked because they were reported as leaked`;
}

export function ReportedTokensNotices({
  notices,
  onDismiss,
}: {
  notices: readonly NoticeView[];
  onDismiss: (id: string) => Promise<void>;
}) {
  const group = { notices, onDismiss };
  return (
    <>
      <NoticeGroup {...group} kind="tokens_reported" label="Revoked tokens" body={ReportedTokensBody} />
      <NoticeGroup {...group} kind="token_outside_allowlist" label="Tokens used outside their allowlist" body={OutsideAllowlistBody} />
      <NoticeGroup {...group} kind="token_revoked_by_admin" label="Tokens revoked by an administrator" body={RevokedByAdminBody} />
      <NoticeGroup {...group} kind="tokens_revoked_idle" label="Tokens revoked as unused" body={RevokedIdleBody} />
      <NoticeGroup {...group} kind="account_changed_by_admin" label="Account changes by an administrator" body={ChangedByAdminBody} />
      <NoticeGroup {...group} kind="webhook_disabled" label="Disabled webhooks" body={WebhookDisabledBody} />
    </>
  );
}

/** One banner per kind of notice, listing that kind's notices, each with its Dismiss button. */
function NoticeGroup<K extends NoticeView['kind']>({
  notices,
  onDismiss,
  kind,
  label,
  body: Body,
}: {
  notices: readonly NoticeView[];
  onDismiss: (id: string) => Promise<void>;
  kind: K;
  label: string;
  body: (props: { notice: Extract<NoticeView, { kind: K }> }) => ReactNode;
}) {
  const ofKind = notices.filter((notice): notice is Extract<NoticeView, { kind: K }> => notice.kind === kind);
  if (ofKind.length === 0) return null;
  return (
    <section className="banner alert-banner" role="region" aria-label={label}>
      <ul>
        {ofKind.map((notice) => (
          <DismissableNotice key={notice.id} id={notice.id} onDismiss={onDismiss}>
            <Body notice={notice} />
          </DismissableNotice>
        ))}
      </ul>
    </section>
  );
}

function DismissableNotice({ id, onDismiss, children }: { id: string; onDismiss: (id: string) => Promise<void>; children: ReactNode }) {
  const { busy, error, run: dismiss } = useAction(() => onDismiss(id));
  return (
    <li className="notice">
      {children}
      <FormError message={error} />
      <button type="button" className="secondary small" onClick={dismiss} disabled={busy}>
        Dismiss
      </button>
    </li>
  );
}

/** "An administrator revoked your token laptop", with its note and a way to replace it. */
function RevokedByAdminBody({ notice }: { notice: RevokedByAdminNotice }) {
  const { token } = notice;
  return (
    <>
      <p>
        <strong>
          An administrator revoked your token <em className="token-name-text">{token.name}</em>
        </strong>{' '}
        (<time dateTime={notice.createdAt}>{formatDateTime(notice.createdAt)}</time>).
      </p>
      <p>
        <code>{maskToken(token.last4)}</code>
        {token.note && <span className="token-note-inline"> — {token.note}</span>}
      </p>
      <p>
        Scripts using it now fail. If you still need one, <Link href={`${TOKENS_PATH}?new=1`}>create a replacement</Link>; ask
        your administrator why it was revoked.
      </p>
    </>
  );
}

/** "Webhook https://… was disabled": its deliveries failed without a break for 3 days. */
function WebhookDisabledBody({ notice }: { notice: WebhookDisabledNotice }) {
  return (
    <>
      <p>
        <strong>
          Webhook <code>{notice.webhook.url}</code> was disabled
        </strong>{' '}
        (<time dateTime={notice.createdAt}>{formatDateTime(notice.createdAt)}</time>): every delivery to it failed
        {notice.failingSince && (
          <>
            {' '}
            since <time dateTime={notice.failingSince}>{formatDateTime(notice.failingSince)}</time>
          </>
        )}
        .
      </p>
      <p>
        Fix the receiver, then enable it again under <Link href="/settings/webhooks">Webhooks</Link>.
      </p>
    </>
  );
}

/** "An administrator made you an administrator", "… changed your name to Ada": the notice's sentence. */
export function changedByAdminSummary(change: ChangedByAdminNotice['change'], name?: string | null): string {
  switch (change) {
    case 'enabled':
      return 'An administrator re-enabled your account';
    case 'admin_granted':
      return 'An administrator made you an administrator';
    case 'admin_revoked':
      return 'An administrator removed your administrator role';
    case 'renamed':
      return name ? `An administrator changed your name to ${name}` : 'An administrator removed your name';
  }
}

function ChangedByAdminBody({ notice }: { notice: ChangedByAdminNotice }) {
  return (
    <>
      <p>
        <strong>{changedByAdminSummary(notice.change, notice.name)}</strong> (
        <time dateTime={notice.createdAt}>{formatDateTime(notice.createdAt)}</time>).
      </p>
      {notice.change === 'enabled' && <p>Your tokens work again, unless they expired or were revoked meanwhile.</p>}
      {notice.change === 'admin_granted' && <p>You can now manage every account, token and the audit trail under Admin.</p>}
      {notice.change === 'admin_revoked' && <p>Admin is no longer available to you; your own tokens are unchanged.</p>}
    </>
  );
}

/** "2 tokens were revoked because they were not used for 90 days". */
export function idleTokensSummary(count: number, idleDays: number): string {
  const days = `${idleDays} ${idleDays === 1 ? 'day' : 'days'}`;
  return count === 1 ? `1 token was revoked because it was not used for ${days}` : `${count} tokens were revoked because they were not used for ${days}`;
}

function RevokedIdleBody({ notice }: { notice: RevokedIdleNotice }) {
  const one = notice.tokens.length === 1;
  return (
    <>
      <p>
        <strong>{idleTokensSummary(notice.tokens.length, notice.idleDays)}</strong> (
        <time dateTime={notice.createdAt}>{formatDateTime(notice.createdAt)}</time>):
      </p>
      <NoticeTokens tokens={notice.tokens} />
      <p>
        This server’s policy revokes tokens left unused that long. If you still need {one ? 'it' : 'them'},{' '}
        <Link href={`${TOKENS_PATH}?new=1`}>create a replacement</Link>.
      </p>
    </>
  );
}

/** "Token ci-preview was used from 203.0.113.9, outside its allowlist". */
export function outsideAllowlistSummary(name: string, ip: string): string {
  return `Token ${name} was used from ${ip}, outside its allowlist`;
}

function OutsideAllowlistBody({ notice }: { notice: OutsideAllowlistNotice }) {
  const { token } = notice;
  return (
    <>
      <p>
        <strong>
          Token <em className="token-name-text">{token.name}</em> was used from <code>{notice.ip}</code>, outside its allowlist
        </strong>{' '}
        (<time dateTime={notice.createdAt}>{formatDateTime(notice.createdAt)}</time>).
      </p>
      <p>
        <code>{maskToken(token.last4)}</code>
        {token.note && <span className="token-note-inline"> — {token.note}</span>}
      </p>
      <p>
        Latchkey refused the request. If that address is yours, the allowlist is missing it; if not, someone else holds this
        token: <Link href={`${TOKENS_PATH}/${encodeURIComponent(token.id)}`}>review and delete it</Link>.
      </p>
    </>
  );
}

function ReportedTokensBody({ notice }: { notice: ReportedNotice }) {
  const them = notice.tokens.length === 1 ? 'it' : 'them';
  return (
    <>
      <p>
        <strong>{reportedTokensSummary(notice.tokens.length)}</strong> (
        <time dateTime={notice.createdAt}>{formatDateTime(notice.createdAt)}</time>):
      </p>
      <NoticeTokens tokens={notice.tokens} />
      <p>
        Someone found {them} outside your control and reported {them}, so Latchkey revoked {them} at once.
        Scripts using {them} now fail: <Link href={`${TOKENS_PATH}?new=1`}>create a replacement</Link>,
        and remove the old value from wherever it leaked.
      </p>
    </>
  );
}

/** The tokens a notice is about, by name and masked value. */
function NoticeTokens({ tokens }: { tokens: ReportedNotice['tokens'] }) {
  return (
    <ul className="notice-tokens">
      {tokens.map((token) => (
        <li key={token.id}>
          <span className="token-name-text">{token.name}</span> <code>{maskToken(token.last4)}</code>
        </li>
      ))}
    </ul>
  );
}
