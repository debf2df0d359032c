import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'show the current context (or NAME); the token only with --include-token',
    examples: ['latchkey context show', 'latchkey context show --include-token --output json'],
  },
  args: {
    name: { type: 'positional', required: false, description: 'a stored context (default: the current one)' },
    ...globalArgs,
    includeToken: { type: 'boolean', description: 'also print the token itself' },
    output: outputArg,
  },
  run: async (context) => (await loadActions()).showContext(ioOf(context), context.args.name, context.args),
});
