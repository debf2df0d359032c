import { defineCommand } from 'citty';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

export default defineCommand({
  meta: {
    description:
      'replace a token (default: the one in use, whose stored context is rewritten) by a new one with the same name, scopes and restrictions and a fresh expiry',
    examples: ['latchkey token rotate --grace 1h', 'latchkey token rotate ci-preview --expires-in-days 30', 'LATCHKEY_TOKEN=lk_pat_1… latchkey token rotate > new-token'],
  },
  args: {
    id: { type: 'positional', required: false, description: 'a token’s id or name (default: the token in use)' },
    grace: { type: 'string', valueHint: 'duration', description: 'how long the old secret keeps working: 0 (default), 30m, 1h, up to 1d' },
    expiresInDays: { type: 'string', valueHint: 'days', description: 'the new token’s lifetime in days, one the server offers (default 180)' },
    printSecret: { type: 'boolean', description: 'print the new secret even when it was stored in a context' },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).rotateToken(ioOf(context), context.args),
});
