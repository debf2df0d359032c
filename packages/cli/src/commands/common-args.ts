/**
 * Options several commands take. The global ones are the root's, spread into every command
 * that uses them: a command sharing the root's very definition lists it under "Global
 * Options" and passes it to its action typed (command-runner.ts).
 */
import type { ArgsDef, BooleanArgDef, EnumArgDef } from 'citty';
import { OUTPUT_FORMATS } from '../output.js';

export const versionArg = { type: 'boolean', alias: 'V', description: 'print the version' } satisfies BooleanArgDef;

export const globalArgs = {
  url: { type: 'string', valueHint: 'url', description: 'server URL (default: LATCHKEY_URL, then the current context)' },
  token: { type: 'string', valueHint: 'token', description: 'personal access token (prefer LATCHKEY_TOKEN or --token-stdin)' },
  tokenStdin: { type: 'boolean', description: 'read the personal access token from standard input' },
  verbose: { type: 'boolean', alias: 'v', description: 'print each request and its status on stderr (never the token)' },
} satisfies ArgsDef;

export const outputArg = {
  type: 'enum',
  alias: 'o',
  valueHint: 'format',
  options: [...OUTPUT_FORMATS],
  default: 'table',
  description: 'output format',
} satisfies EnumArgDef;

export const yesArg = { type: 'boolean', alias: 'y', description: 'do not ask for confirmation (for scripts)' } satisfies BooleanArgDef;
