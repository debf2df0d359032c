import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

export default defineCommand({
  meta: { description: 'list your namespaces', examples: ['latchkey namespace list', 'latchkey namespace list --output json'] },
  args: { ...globalArgs, output: outputArg },
  run: async (context) => (await loadActions()).listNamespaces(ioOf(context), context.args),
});
