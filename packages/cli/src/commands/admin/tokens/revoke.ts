import { defineCommand } from 'citty';
import { globalArgs, yesArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';

export default defineCommand({
  meta: {
    description: 'revoke any account’s token, at once and for good; its owner is told in the console',
    examples: ['latchkey admin tokens revoke 7f3e…-…', 'latchkey admin tokens revoke 7f3e…-… --yes'],
  },
  args: {
    id: { type: 'positional', required: true, description: 'the token’s id (`latchkey admin tokens list` shows it)' },
    ...globalArgs,
    yes: yesArg,
  },
  run: async (context) => (await loadActions()).revokeAdminToken(ioOf(context), context.args),
});
