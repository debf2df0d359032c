import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs } from '../common-args.js';

export default defineCommand({
  meta: {
    description: 'add a context for URL (or switch to the stored context NAME) and make it current',
    examples: [
      'latchkey context use https://latchkey.example.com            # signs in with the browser',
      'latchkey context use https://latchkey.example.com --token-stdin < token.txt',
      'latchkey context use latchkey.example.com                    # switch to a stored context',
    ],
    notes: 'With no token, a terminal, and CI unset, the browser opens to sign in and mint a token.',
  },
  args: {
    urlOrName: { type: 'positional', required: true, description: 'server URL to sign in to, or the name of a stored context' },
    ...globalArgs,
    name: { type: 'string', valueHint: 'name', description: 'name for the new context (default: the URL’s host)' },
    namespace: { type: 'string', valueHint: 'namespace', description: 'default namespace for the new context' },
  },
  run: async (context) => (await loadActions()).useContext(ioOf(context), context.args.urlOrName, context.args),
});
