/**
 * The notice an owner finds at the top of the console after someone reported their tokens as
 * leaked (POST /api/v1/credentials/revoke): which tokens were revoked, when, and what to do.
 * It stays, on every page and visit, until the owner dismisses it (like GitHub's security
 * banners): a revocation they never saw would leave them wondering why their scripts broke.
 */
import { maskToken, type NoticeView } from '@latchkey/contract';
import { Link } from '../router.js';
import { formatDateTime } from '../time.js';
import { useAction } from '../use-action.js';
import { FormError } from './form-parts.js';

export const TOKENS_PATH = '/settings/tokens';

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
  if (notices.length === 0) return null;
  return (
    <section className="banner alert-banner" role="region" aria-label="Revoked tokens">
      <ul>
        {notices.map((notice) => (
          <ReportedTokensNotice key={notice.id} notice={notice} onDismiss={onDismiss} />
        ))}
      </ul>
    </section>
  );
}

function ReportedTokensNotice({ notice, onDismiss }: { notice: NoticeView; onDismiss: (id: string) => Promise<void> }) {
  const { busy, error, run: dismiss } = useAction(() => onDismiss(notice.id));

  return (
    <li className="notice">
      <p>
        <strong>{reportedTokensSummary(notice.tokens.length)}</strong> (
        <time dateTime={notice.createdAt}>{formatDateTime(notice.createdAt)}</time>):
      </p>
      <ul className="notice-tokens">
        {notice.tokens.map((token) => (
          <li key={token.id}>
            <span className="token-name-text">{token.name}</span> <code>{maskToken(token.last4)}</code>
          </li>
        ))}
      </ul>
      <p>
        Someone found {notice.tokens.length === 1 ? 'it' : 'them'} outside your control and reported{' '}
        {notice.tokens.length === 1 ? 'it' : 'them'}, so Latchkey revoked {notice.tokens.length === 1 ? 'it' : 'them'} at once.
        Scripts using {notice.tokens.length === 1 ? 'it' : 'them'} now fail: <Link href={`${TOKENS_PATH}?new=1`}>create a replacement</Link>,
        and remove the old value from wherever it leaked.
      </p>
      <FormError message={error} />
      <button type="button" className="secondary small" onClick={dismiss} disabled={busy}>
        Dismiss
      </button>
    </li>
  );
}
