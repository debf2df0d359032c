import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'forget a stored context (the token itself stays valid)',
    examples: ['latchkey context delete latchkey.example.com'],
  },
  args: {
    name: { type: 'positional', required: true, description: 'the context to forget' },
    ...globalArgs,
  },
  run: async (context) => (await loadActions()).deleteContext(ioOf(context), context.args.name),
});
