/**
 * Delete Token, from the list and from a token's page: before the token goes, the dialog says
 * when and from where it was last used ("Last used 3 minutes ago from 10.0.0.5", "Never used"),
 * so the person knows whether something still depends on it and what will break.
 */
import type { TokenView } from '@latchkey/contract';
import { api } from '../api.js';
import { formatDateTime, timeAgo } from '../time.js';
import { ConfirmDelete } from './confirm-dialog.js';

/** "Last used 3 minutes ago from 10.0.0.5" / "Last used 2 days ago" / "Never used". */
export function lastUseSentence(token: Pick<TokenView, 'lastUsedAt' | 'lastUsedIp'>, now: number): string {
  if (!token.lastUsedAt) return 'Never used';
  const ago = timeAgo(Date.parse(token.lastUsedAt), now);
  return token.lastUsedIp ? `Last used ${ago} from ${token.lastUsedIp}` : `Last used ${ago}`;
}

export interface DeleteTokenDialogProps {
  token: TokenView;
  now: number;
  onClose: () => void;
  /** The query key to reload once the token is gone (see query.ts). */
  listKey: string;
  /** Called after the token is deleted and the dialog closed (the token page leaves). */
  onDeleted?: () => void;
  /** For tests. */
  remove?: (id: string) => Promise<unknown>;
}

export function DeleteTokenDialog({ token, now, onClose, listKey, onDeleted, remove = api.revokeToken }: DeleteTokenDialogProps) {
  return (
    <ConfirmDelete
      title="Delete personal access token?"
      confirmLabel="Delete Token"
      onClose={onClose}
      remove={async () => {
        await remove(token.id);
        onDeleted?.();
      }}
      listKey={listKey}
    >
      <p className="last-use">
        {token.lastUsedAt ? (
          <>
            {lastUseSentence(token, now)} (<time dateTime={token.lastUsedAt}>{formatDateTime(token.lastUsedAt)}</time>).
          </>
        ) : (
          <>Never used.</>
        )}
      </p>
      <p>
        Any scripts or applications using <strong className="token-name-text">{token.name}</strong> will no longer be able
        to access the Latchkey API. This cannot be undone.
      </p>
    </ConfirmDelete>
  );
}
