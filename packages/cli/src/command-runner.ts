/**
 * What the `latchkey` command tree needs beyond citty, on top of it. citty defines the commands
 * (`defineCommand`: meta, typed args, lazy sub-commands) and parses and runs the one chosen
 * (`runCommand`, which hands the command `data`: here the injected I/O). Choosing it is done
 * here, because citty's `runMain` exits the process, takes options only after the last
 * sub-command, accepts unknown options and surplus arguments silently, exits 1 on usage
 * mistakes and prints its own coloured usage. Here instead:
 *
 * - the options of every command on the path are accepted anywhere (`latchkey -v namespace list`);
 * - an unknown command (with "did you mean"), an unknown option, a missing or invalid option
 *   value and a missing or surplus argument throw a `UsageError` (exit 2), worded as before;
 * - `-h`/`--help` anywhere and `help [command…]` print the help of the deepest command named,
 *   laid out as commander did, examples (`meta.examples`) and notes (`meta.notes`) last; a
 *   command with sub-commands and nothing of its own to run prints its help on stderr (exit 2);
 * - `-V`/`--version` anywhere prints the root's `meta.version`;
 * - `commandShape` walks the tree for the shell completion scripts.
 *
 * An option is global when a command shares the root's very definition of it (`...globalArgs`):
 * the help lists it under "Global Options", completion offers it everywhere.
 */
import { parseArgs } from 'node:util';
import { runCommand, type ArgDef, type ArgsDef, type CommandDef, type CommandMeta, type Resolvable } from 'citty';
import { UsageError } from './cli-errors.js';
import type { CommandShape } from './completion.js';

declare module 'citty' {
  interface CommandMeta {
    /** Command lines shown under "Example(s):" at the end of the help, without the `$ `. */
    examples?: readonly string[];
    /** A paragraph printed after the examples. */
    notes?: string;
    /** The words shell completion offers as the value of an option (keyed by the arg's name). */
    optionValues?: Readonly<Record<string, readonly string[]>>;
  }
}

// citty's own sub-command tables hold `CommandDef<any>`: each command's args differ.
export type AnyCommand = CommandDef<any>;

/** One command on the path, its meta and args resolved. */
export interface ResolvedCommand {
  /** The word that names it (the root: `meta.name`). */
  name: string;
  command: AnyCommand;
  meta: CommandMeta;
  args: ArgsDef;
}

export type Invocation =
  /** Run the last command of `path` with `rawArgs` (the command line without the command names). */
  | { kind: 'run'; path: ResolvedCommand[]; rawArgs: string[] }
  /** Print the help of the last command of `path`; `incomplete`: it has sub-commands and none was named. */
  | { kind: 'help'; path: ResolvedCommand[]; incomplete: boolean }
  | { kind: 'version'; version: string };

interface Output {
  write(text: string): unknown;
}

/**
 * Runs the command `argv` names with `data` (citty passes it to the command's `run`). Resolves
 * with 0, or 2 after printing the help of a command that needs a sub-command; a usage mistake
 * rejects with a `UsageError`, and whatever the command throws comes through as it is.
 */
export async function runCommandLine<Data extends { stdout: Output; stderr: Output }>(
  root: AnyCommand,
  argv: readonly string[],
  data: Data,
): Promise<0 | 2> {
  const invocation = await resolveInvocation(root, argv);
  switch (invocation.kind) {
    case 'help':
      (invocation.incomplete ? data.stderr : data.stdout).write(await helpText(invocation.path));
      return invocation.incomplete ? 2 : 0;
    case 'version':
      data.stdout.write(`${invocation.version}\n`);
      return 0;
    case 'run': {
      const command = invocation.path.at(-1)!.command;
      await runCommand({ ...command, args: mergedArgs(invocation.path) }, { rawArgs: invocation.rawArgs, data });
      return 0;
    }
  }
}

export async function resolveInvocation(root: AnyCommand, argv: readonly string[]): Promise<Invocation> {
  const rootMeta = (await resolve(root.meta)) ?? {};
  const path = [await resolveCommand(rootMeta.name ?? '', root)];
  /** Indexes in argv of the words that named commands (and of `help`). */
  const commandWords = new Set<number>();
  const mistakes: Array<{ at: number; message: string }> = [];
  let help = false;

  let tokens = tokenize(argv, path);
  for (let word = nextCommandWord(tokens, commandWords); word; word = nextCommandWord(tokens, commandWords)) {
    const subCommands = await resolve(path.at(-1)!.command.subCommands);
    if (!subCommands) break;
    commandWords.add(word.index);
    if (word.value === 'help') {
      help = true;
      continue;
    }
    const sub = Object.hasOwn(subCommands, word.value) ? subCommands[word.value] : undefined;
    if (!sub) {
      mistakes.push({ at: word.index, message: `unknown command '${word.value}'${suggestion(word.value, Object.keys(subCommands))}` });
      break;
    }
    path.push(await resolveCommand(word.value, (await resolve(sub))!));
    tokens = tokenize(argv, path);
  }

  const options = optionsByLongName(mergedArgs(path));
  const positionals: string[] = [];
  let version = false;
  for (const token of tokens) {
    if (token.kind === 'positional' && !commandWords.has(token.index)) positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const fail = (message: string) => void mistakes.push({ at: token.index, message });
    const option = options.get(token.name);
    if (token.name === 'help') help = true;
    else if (!option) fail(`unknown option '${token.rawName}'`);
    else if (option.def.type === 'boolean') {
      if (token.value !== undefined) fail(`option '${option.flags}' takes no value`);
      else if (token.name === 'version' && rootMeta.version !== undefined) version = true;
    } else if (token.value === undefined) fail(`option '${option.flags}' argument missing`);
    else if (option.def.type === 'enum' && option.def.options && !option.def.options.includes(token.value)) {
      fail(`option '${option.flags}' argument '${token.value}' is invalid. Allowed choices are ${option.def.options.join(', ')}.`);
    }
  }

  if (help) return { kind: 'help', path, incomplete: false };
  if (version) return { kind: 'version', version: rootMeta.version! };
  const [mistake] = mistakes.sort((a, b) => a.at - b.at);
  if (mistake) throw new UsageError(mistake.message);

  const leaf = path.at(-1)!;
  // A group runs on its own only when it has something to do then (`admin policy` shows the policy).
  if (leaf.command.subCommands && !leaf.command.run) return { kind: 'help', path, incomplete: true };
  const expected = positionalArgs(leaf.args);
  const missing = expected.find(([, def], position) => isRequired(def) && positionals[position] === undefined);
  if (missing) throw new UsageError(`missing required argument '${kebab(missing[0])}'`);
  if (positionals.length > expected.length) {
    throw new UsageError(
      `too many arguments for '${leaf.name}'. Expected ${expected.length} argument${expected.length === 1 ? '' : 's'} but got ${positionals.length}.`,
    );
  }
  return { kind: 'run', path, rawArgs: argv.filter((_, index) => !commandWords.has(index)) };
}

const HELP_WIDTH = 80;
const HELP_FLAGS = '-h, --help';
const HELP_DESCRIPTION = 'display help for command';

/** The help of the last command of `path`, laid out as commander did. */
export async function helpText(path: readonly ResolvedCommand[]): Promise<string> {
  const command = path.at(-1)!;
  const ancestors = path.slice(0, -1);
  const usageOf = (args: ArgsDef) =>
    positionalArgs(args)
      .map(([name, def]) => (isRequired(def) ? `<${kebab(name)}>` : `[${kebab(name)}]`))
      .join(' ');

  const sections: Array<[string, Array<[string, string]>]> = [];
  const described = positionalArgs(command.args).filter(([, def]) => def.description);
  if (described.length > 0) sections.push(['Arguments', described.map(([name, def]) => [kebab(name), def.description!])]);
  sections.push(['Options', [...ownOptions(command.args, ancestors).map(describeOption), [HELP_FLAGS, HELP_DESCRIPTION]]]);
  const globals = ancestors.flatMap((ancestor, index) => ownOptions(ancestor.args, ancestors.slice(0, index)));
  if (globals.length > 0) sections.push(['Global Options', globals.map(describeOption)]);
  const subCommands = await resolve(command.command.subCommands);
  if (subCommands) {
    const lines: Array<[string, string]> = [];
    for (const [name, sub] of Object.entries(subCommands)) {
      const resolved = await resolveCommand(name, (await resolve(sub))!);
      if (resolved.meta.hidden) continue;
      const hasOptions = ownOptions(resolved.args, path).length > 0;
      lines.push([[name, hasOptions ? '[options]' : '', usageOf(resolved.args)].filter(Boolean).join(' '), resolved.meta.description ?? '']);
    }
    sections.push(['Commands', [...lines, ['help [command]', HELP_DESCRIPTION]]]);
  }

  const width = Math.max(...sections.flatMap(([, items]) => items.map(([term]) => term.length)));
  const usage = [path.map((step) => step.name).join(' '), '[options]', subCommands ? '[command]' : '', usageOf(command.args)]
    .filter(Boolean)
    .join(' ');
  let text = `Usage: ${usage}\n\n${command.meta.description ?? ''}\n`;
  for (const [title, items] of sections) {
    text += `\n${title}:\n`;
    for (const [term, description] of items) {
      text += `  ${term.padEnd(width)}  ${wrap(description, HELP_WIDTH - width - 4).join(`\n${' '.repeat(width + 4)}`)}\n`;
    }
  }
  const { examples = [], notes } = command.meta;
  if (examples.length > 0) {
    text += `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((line) => `  $ ${line}\n`).join('')}`;
  }
  if (notes) text += `\n${notes}\n`;
  return examples.length > 0 || notes ? `${text}\n` : text;
}

/** Names and own options of every command, for the completion scripts. */
export async function commandShape(root: AnyCommand): Promise<CommandShape> {
  const meta = (await resolve(root.meta)) ?? {};
  return shapeOf([await resolveCommand(meta.name ?? '', root)]);
}

async function shapeOf(path: ResolvedCommand[]): Promise<CommandShape> {
  const command = path.at(-1)!;
  const commands: CommandShape[] = [];
  for (const [name, sub] of Object.entries((await resolve(command.command.subCommands)) ?? {})) {
    commands.push(await shapeOf([...path, await resolveCommand(name, (await resolve(sub))!)]));
  }
  const values = Object.entries(command.meta.optionValues ?? {}).map(([name, words]) => ({ option: `--${kebab(name)}`, words: [...words] }));
  return {
    name: command.name,
    options: ownOptions(command.args, path.slice(0, -1)).map(([name]) => `--${kebab(name)}`),
    commands,
    ...(values.length > 0 ? { values } : {}),
  };
}

// ----- helpers -----

async function resolve<T>(value: Resolvable<T> | undefined): Promise<T | undefined> {
  return typeof value === 'function' ? (value as () => T | Promise<T>)() : value;
}

async function resolveCommand(name: string, command: AnyCommand): Promise<ResolvedCommand> {
  return { name, command, meta: (await resolve(command.meta)) ?? {}, args: (await resolve(command.args)) ?? {} };
}

/** The args of every command on the path; a later command's definition wins a name. */
function mergedArgs(path: readonly ResolvedCommand[]): ArgsDef {
  return Object.assign({}, ...path.map((step) => step.args)) as ArgsDef;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const isRequired = (def: ArgDef) => def.required !== false && def.default === undefined;
const positionalArgs = (args: ArgsDef) => Object.entries(args).filter(([, def]) => def.type === 'positional');
const shortAlias = (def: ArgDef) =>
  'alias' in def ? [def.alias ?? []].flat().find((alias) => alias.length === 1) : undefined;

function optionFlags(name: string, def: ArgDef): string {
  const short = shortAlias(def);
  const value = def.type === 'boolean' ? '' : ` <${def.valueHint ?? kebab(name)}>`;
  return `${short ? `-${short}, ` : ''}--${kebab(name)}${value}`;
}

/** The options `args` defines that no command in `ancestors` defined already (by identity). */
function ownOptions(args: ArgsDef, ancestors: readonly ResolvedCommand[]): Array<[string, ArgDef]> {
  return Object.entries(args).filter(
    ([name, def]) => def.type !== 'positional' && !ancestors.some((ancestor) => ancestor.args[name] === def),
  );
}

function describeOption([name, def]: [string, ArgDef]): [string, string] {
  const extras = [
    def.type === 'enum' && def.options ? `choices: ${def.options.map((choice) => `"${choice}"`).join(', ')}` : '',
    def.default !== undefined ? `default: "${def.default}"` : '',
  ].filter(Boolean);
  const description = def.description ?? '';
  return [optionFlags(name, def), extras.length > 0 ? `${description} (${extras.join(', ')})` : description];
}

type Token =
  | { kind: 'option'; name: string; rawName: string; index: number; value?: string }
  | { kind: 'positional'; index: number; value: string }
  | { kind: 'option-terminator'; index: number };

/**
 * Node's own parser, not strict (every mistake is reported here, worded as before), over the
 * options of the commands on `path`, so it knows which options take the next word as value.
 */
function tokenize(argv: readonly string[], path: readonly ResolvedCommand[]): Token[] {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, { def }] of optionsByLongName(mergedArgs(path))) {
    const short = shortAlias(def);
    options[name] = { type: def.type === 'boolean' ? 'boolean' : 'string', ...(short ? { short } : {}) };
  }
  return parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true }).tokens as Token[];
}

function optionsByLongName(args: ArgsDef): Map<string, { def: ArgDef; flags: string }> {
  return new Map(
    Object.entries(args)
      .filter(([, def]) => def.type !== 'positional')
      .map(([name, def]) => [kebab(name), { def, flags: optionFlags(name, def) }]),
  );
}

/** The first positional word not yet taken as a command name, before any `--`. */
function nextCommandWord(tokens: readonly Token[], taken: ReadonlySet<number>) {
  for (const token of tokens) {
    if (token.kind === 'option-terminator') return undefined;
    if (token.kind === 'positional' && !taken.has(token.index)) return token;
  }
  return undefined;
}

/** ` (did you mean list?)` when one name is a typo away (Damerau–Levenshtein distance ≤ 2). */
function suggestion(word: string, names: readonly string[]): string {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(word, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best ? ` (did you mean ${best.name}?)` : '';
}

function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}
