import { defineCommand } from 'citty';
import { globalArgs, outputArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';

/** The contract's ADMIN_ACCOUNT_STATES (kept here so `--help` loads no zod; a test compares them). */
export const ACCOUNT_STATE_FILTERS = ['active', 'disabled', 'all'];

export default defineCommand({
  meta: {
    description: 'list accounts, newest first: email, name, role, state, active tokens, last sign-in, id',
    examples: ['latchkey admin accounts list', 'latchkey admin accounts list --search bob --state all --output json'],
  },
  args: {
    search: { type: 'string', valueHint: 'text', description: 'only accounts whose email or name contains this text (any case)' },
    state: { type: 'enum', valueHint: 'state', options: ACCOUNT_STATE_FILTERS, description: 'only active or disabled accounts (default: all)' },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).listAccounts(ioOf(context), context.args),
});
