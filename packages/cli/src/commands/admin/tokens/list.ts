import { defineCommand } from 'citty';
import { TOKEN_SCOPES } from '@latchkey/contract/scopes';
import { globalArgs, outputArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';
import { TOKEN_STATE_FILTERS } from '../../token/list.js';

export default defineCommand({
  meta: {
    description: 'list every account’s tokens, newest first: name, owner, scopes, state, expiry, last use, id (never a secret)',
    examples: ['latchkey admin tokens list --expiring-within 7', 'latchkey admin tokens list --owner bob@example.com --scope admin:write --output json'],
    optionValues: { scope: TOKEN_SCOPES },
  },
  args: {
    owner: { type: 'string', valueHint: 'email|id', description: 'only this account’s tokens' },
    state: { type: 'enum', valueHint: 'state', options: TOKEN_STATE_FILTERS, description: 'only tokens in this state (default: every token not revoked)' },
    expiringWithin: { type: 'string', valueHint: 'days', description: 'only live tokens expiring within this many days' },
    unusedFor: { type: 'string', valueHint: 'days', description: 'only tokens not used for this many days (never used counts from creation)' },
    scope: { type: 'enum', valueHint: 'scope', options: [...TOKEN_SCOPES], description: 'only tokens holding this scope (a write scope counts for its read scope)' },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).listAdminTokens(ioOf(context), context.args),
});
