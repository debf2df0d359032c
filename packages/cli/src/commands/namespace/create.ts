import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'create a namespace (a DNS-1123 label: a-z, 0-9 and "-", at most 63)',
    examples: ['latchkey namespace create test-cindylopez'],
  },
  args: {
    name: { type: 'positional', required: true, description: 'the new namespace' },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).createNamespace(ioOf(context), context.args.name, context.args),
});
