import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, yesArg } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'delete a namespace (asks first on a terminal)',
    examples: ['latchkey namespace delete pr-123', 'latchkey namespace delete pr-123 --yes   # in scripts'],
  },
  args: {
    name: { type: 'positional', required: true, description: 'the namespace to delete' },
    ...globalArgs,
    yes: yesArg,
  },
  run: async (context) => (await loadActions()).deleteNamespace(ioOf(context), context.args.name, context.args),
});
