import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, yesArg } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'revoke a token (default: the one in use, which is also removed from its context), at once and for good',
    examples: ['latchkey token revoke ci-preview', 'LATCHKEY_TOKEN=lk_pat_1… latchkey token revoke --yes'],
  },
  args: {
    id: { type: 'positional', required: false, description: 'a token’s id or name (default: the token in use)' },
    ...globalArgs,
    yes: yesArg,
  },
  run: async (context) => (await loadActions()).revokeToken(ioOf(context), context.args),
});
