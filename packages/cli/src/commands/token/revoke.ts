import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, yesArg } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'revoke the token in use, at once and for good, and remove it from its context',
    examples: ['latchkey token revoke', 'LATCHKEY_TOKEN=lk_pat_1… latchkey token revoke --yes'],
  },
  args: { ...globalArgs, yes: yesArg },
  run: async (context) => (await loadActions()).revokeToken(ioOf(context), context.args),
});
