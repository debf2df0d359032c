import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'show the token in use: name, state, expiry, last use (never the secret)',
    examples: ['latchkey token show --output json'],
  },
  args: { ...globalArgs, output: outputArg },
  run: async (context) => (await loadActions()).showToken(ioOf(context), context.args),
});
