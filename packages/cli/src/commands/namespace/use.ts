import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'make NAME the current context’s default namespace',
    examples: ['latchkey namespace use test-cindylopez'],
  },
  args: {
    name: { type: 'positional', required: true, description: 'an existing namespace' },
    ...globalArgs,
  },
  run: async (context) => (await loadActions()).useNamespace(ioOf(context), context.args.name, context.args),
});
