/**
 * Options a user may give more than once (`--scope a --scope b`) or as one comma-separated list
 * (`--scope a,b`), or both. citty keeps only the last value of a repeated option, so the values
 * are read again from the command line, tokenized as the runner does (command-runner.ts): an
 * option's value is never mistaken for an option of its own, and nothing after `--` counts.
 */
import { parseArgs } from 'node:util';
import type { ArgsDef } from 'citty';

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/**
 * Every value given to the option `name` (camelCase, as in `args`), in order, each split on
 * commas and trimmed, empty pieces dropped. `args`: the options of the command (and of the
 * commands above it), so the tokenizer knows which options take a value.
 */
export function repeatedOptionValues(rawArgs: readonly string[], args: ArgsDef, name: string): string[] {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [key, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    const short = 'alias' in def ? [def.alias ?? []].flat().find((alias) => alias.length === 1) : undefined;
    options[kebab(key)] = { type: def.type === 'boolean' ? 'boolean' : 'string', ...(short ? { short } : {}) };
  }
  const { tokens } = parseArgs({ args: [...rawArgs], options, strict: false, allowPositionals: true, tokens: true });
  const wanted = kebab(name);
  return tokens
    .flatMap((token) => (token.kind === 'option' && token.name === wanted && token.value !== undefined ? token.value.split(',') : []))
    .map((value) => value.trim())
    .filter((value) => value !== '');
}
