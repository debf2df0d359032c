/**
 * The root of the command tree, `latchkey <noun> <verb>`. Every command is a citty
 * `defineCommand` in a file of its own, loaded when named (or listed by `--help`); their logic
 * in src/actions is loaded only when one runs (load-actions.ts).
 */
import { defineCommand } from 'citty';
import type { AnyCommand } from '../command-runner.js';
import { VERSION } from '../version.js';
import { globalArgs, versionArg } from './common-args.js';

export const latchkey = defineCommand({
  meta: {
    name: 'latchkey',
    version: VERSION,
    description: 'Manage Latchkey contexts, namespaces and personal access tokens.',
    examples: [
      'latchkey context use https://latchkey.example.com --token-stdin < token.txt',
      'LATCHKEY_URL=https://latchkey.example.com LATCHKEY_TOKEN=lk_pat_1… latchkey namespace create pr-123',
    ],
    notes:
      'Credentials: --url/--token flags, then LATCHKEY_URL, LATCHKEY_TOKEN and LATCHKEY_NAMESPACE,\n' +
      'then the current context in $LATCHKEY_HOME/config.json (default ~/.latchkey).\n' +
      'Exit codes: 0 ok, 1 error, 2 usage.',
  },
  args: { version: versionArg, ...globalArgs },
  subCommands: {
    context: () => import('./context/index.js').then((module) => module.default),
    namespace: () => import('./namespace/index.js').then((module) => module.default),
    token: () => import('./token/index.js').then((module) => module.default),
    admin: () => import('./admin/index.js').then((module) => module.default),
    version: () => import('./version.js').then((module) => module.default),
    // The completion scripts are generated from this very tree.
    completion: (): Promise<AnyCommand> => import('./completion.js').then((module) => module.completionCommand(latchkey)),
  },
});
