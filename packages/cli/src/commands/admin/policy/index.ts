import { defineCommand } from 'citty';
import { globalArgs, outputArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';

const showArgs = { ...globalArgs, output: outputArg };

export const showCommand = defineCommand({
  meta: {
    description: 'show the instance policy: token lifetimes, personal token scopes, idle revocation',
    examples: ['latchkey admin policy', 'latchkey admin policy show --output json'],
  },
  args: showArgs,
  run: async (context) => (await loadActions()).showPolicy(ioOf(context), context.args),
});

/** `latchkey admin policy` on its own shows the policy, as `latchkey admin policy show` does. */
export default defineCommand({
  meta: {
    description: 'the instance policy every new token follows (on its own: show it)',
    examples: ['latchkey admin policy', 'latchkey admin policy set --max-lifetime 30 --idle-revoke 90'],
  },
  args: showArgs,
  subCommands: {
    show: () => Promise.resolve(showCommand),
    set: () => import('./set.js').then((module) => module.default),
  },
  run: async (context) => (await loadActions()).showPolicy(ioOf(context), context.args),
});
