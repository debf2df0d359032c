import { defineCommand } from 'citty';
import { globalArgs, outputArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';

export default defineCommand({
  meta: {
    description: 'show one account: email, name, role, state, active tokens, last sign-in, created, id',
    examples: ['latchkey admin accounts show bob@example.com', 'latchkey admin accounts show 0b5c…-… --output json'],
  },
  args: {
    account: { type: 'positional', required: true, description: 'the account’s id or exact email' },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).showAccount(ioOf(context), context.args),
});
