import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

/** The contract's TOKEN_STATES and `all` (kept here so `--help` loads no zod; a test compares them). */
export const TOKEN_STATE_FILTERS = ['active', 'expiring', 'rotating', 'expired', 'revoked', 'all'];

export default defineCommand({
  meta: {
    description: 'list your tokens: name, scopes, state, expiry, last use, id (never a secret)',
    examples: ['latchkey token list', 'latchkey token list --state all --output json'],
  },
  args: {
    state: {
      type: 'enum',
      valueHint: 'state',
      options: TOKEN_STATE_FILTERS,
      description: 'only tokens in this state (default: every token not revoked)',
    },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).listTokens(ioOf(context), context.args),
});
