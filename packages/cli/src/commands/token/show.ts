import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'show a token (default: the one in use): name, scopes, namespaces, allowed addresses, state, expiry, last use (never the secret)',
    examples: ['latchkey token show --output json', 'latchkey token show ci-preview'],
  },
  args: {
    id: { type: 'positional', required: false, description: 'a token’s id or name (default: the token in use)' },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).showToken(ioOf(context), context.args),
});
