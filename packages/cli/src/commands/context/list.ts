import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

export default defineCommand({
  meta: { description: 'list the stored contexts', examples: ['latchkey context list --output json'] },
  args: { ...globalArgs, output: outputArg },
  run: async (context) => (await loadActions()).listContexts(ioOf(context), context.args),
});
