/**
 * The warning at the top of every page while any token has 7 days or less to live (state
 * `expiring`): which token, in how many days, and a link to regenerate it (its page, with the
 * Regenerate dialog open).
 */
import type { TokenView } from '@latchkey/contract';
import { relativeTime } from '@latchkey/contract/relative-time';
import { Link } from '../router.js';
import { formatDate } from '../time.js';
import { stateOf } from '../token-state.js';

/** A token's page with its Regenerate dialog open. */
export const regeneratePath = (id: string) => `/settings/tokens/${encodeURIComponent(id)}?regenerate=1`;

export function ExpiryBanner({ tokens, now }: { tokens: readonly TokenView[]; now: number }) {
  const expiring = tokens
    .filter((token) => stateOf(token, now) === 'expiring')
    .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));
  if (expiring.length === 0) return null;

  return (
    <section className="banner" role="region" aria-label="Expiring tokens">
      <ul>
        {expiring.map((token) => (
          <li key={token.id}>
            Your personal access token <strong className="token-name-text">{token.name}</strong> expires{' '}
            <time dateTime={token.expiresAt} title={formatDate(token.expiresAt)}>
              {relativeTime(Date.parse(token.expiresAt), now)}
            </time>
            . Expired tokens cannot be renewed.{' '}
            <Link href={regeneratePath(token.id)} className="banner-action" aria-label={`Regenerate ${token.name}`}>
              Regenerate
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
