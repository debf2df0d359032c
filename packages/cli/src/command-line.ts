/**
 * A small command-line parser and help formatter for `latchkey`'s noun–verb tree, with no
 * dependencies: commander alone cost ~7.5 ms of the ~12 ms P6 allows over `node -e 0`.
 *
 * What it understands is what the CLI uses: nested commands; `<required>` and `[optional]`
 * arguments (with choices); boolean flags and options with a value (`--output json`,
 * `--output=json`, `-o json`, `-ojson`, `-vy`), with choices and defaults; the options of
 * every command on the path (so global options go anywhere); `--` to end options; `-h`/`--help`
 * anywhere and `help [command…]`; `-V`/`--version` (an `immediate` option). Mistakes throw a
 * `UsageError` (exit 2) with commander's wording.
 */
import { UsageError } from './cli-errors.js';

export interface OptionSpec {
  /** `--long-name`; the parsed value is stored under its camelCase (`longName`). */
  long: string;
  /** `-x`. */
  short?: string;
  /** The value's placeholder (`format` in `--output <format>`); none for a boolean flag. */
  value?: string;
  description: string;
  choices?: readonly string[];
  default?: string;
  /** Answered at once, whatever else the command line says (`--version`). */
  immediate?: boolean;
}

export interface ArgumentSpec {
  name: string;
  required: boolean;
  description: string;
  choices?: readonly string[];
}

export type ParsedOptions = Record<string, string | boolean | undefined>;

export interface CommandSpec {
  name: string;
  description: string;
  arguments?: readonly ArgumentSpec[];
  options?: readonly OptionSpec[];
  /** Printed after the generated help: examples, notes. */
  helpAfter?: string;
  commands?: readonly CommandSpec[];
  /** Leaf commands only: runs with the positional arguments and the options of the whole path. */
  action?: (args: Array<string | undefined>, options: ParsedOptions) => Promise<void> | void;
}

export type Invocation =
  /** Run the last command of `path`. */
  | { kind: 'run'; path: CommandSpec[]; args: Array<string | undefined>; options: ParsedOptions }
  /** Print the help of the last command of `path`; `incomplete`: a noun without a verb (stderr, exit 2). */
  | { kind: 'help'; path: CommandSpec[]; incomplete: boolean }
  /** An `immediate` option was given. */
  | { kind: 'immediate'; option: OptionSpec };

const HELP: OptionSpec = { long: '--help', short: '-h', description: 'display help for command' };
const HELP_COMMAND: CommandSpec = {
  name: 'help',
  description: 'display help for command',
  arguments: [{ name: 'command', required: false, description: '' }],
};

export function optionKey(option: OptionSpec): string {
  return option.long.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function optionFlags(option: OptionSpec): string {
  return `${option.short ? `${option.short}, ` : ''}${option.long}${option.value ? ` <${option.value}>` : ''}`;
}

export function parseCommandLine(root: CommandSpec, argv: readonly string[]): Invocation {
  const path: CommandSpec[] = [root];
  const args: string[] = [];
  const options: ParsedOptions = {};
  let help = false;
  let immediate: OptionSpec | undefined;
  let onlyArguments = false;
  // The first mistake is reported only once the whole line is read: `--help` after it still wins.
  let mistake: string | undefined;
  const fail = (message: string) => void (mistake ??= message);

  const known = () => path.flatMap((command) => command.options ?? []);
  const take = (option: OptionSpec, value: string | true) => {
    if (option.immediate) immediate ??= option;
    if (typeof value === 'string' && option.choices && !option.choices.includes(value)) {
      fail(
        `option '${optionFlags(option)}' argument '${value}' is invalid. Allowed choices are ${option.choices.join(', ')}.`,
      );
    }
    options[optionKey(option)] = value;
  };

  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]!;
    if (!onlyArguments && word === '--') {
      onlyArguments = true;
    } else if (!onlyArguments && word.startsWith('--')) {
      const equals = word.indexOf('=');
      const name = equals === -1 ? word : word.slice(0, equals);
      if (name === HELP.long) {
        help = true;
        continue;
      }
      const option = known().find((candidate) => candidate.long === name);
      if (!option) {
        fail(`unknown option '${name}'`);
      } else if (!option.value) {
        if (equals === -1) take(option, true);
        else fail(`option '${optionFlags(option)}' takes no value`);
      } else {
        const value = equals === -1 ? argv[++index] : word.slice(equals + 1);
        if (value === undefined) fail(`option '${optionFlags(option)}' argument missing`);
        else take(option, value);
      }
    } else if (!onlyArguments && word.startsWith('-') && word.length > 1) {
      // One or more short flags; the first that takes a value takes the rest of the word or the next.
      for (let at = 1; at < word.length; at++) {
        const flag = `-${word[at]}`;
        if (flag === HELP.short) {
          help = true;
          continue;
        }
        const option = known().find((candidate) => candidate.short === flag);
        if (!option) {
          fail(`unknown option '${flag}'`);
          break;
        }
        if (!option.value) {
          take(option, true);
          continue;
        }
        const value = at + 1 < word.length ? word.slice(at + 1) : argv[++index];
        if (value === undefined) fail(`option '${optionFlags(option)}' argument missing`);
        else take(option, value);
        break;
      }
    } else {
      const command = path[path.length - 1]!;
      if (!command.commands || mistake !== undefined) {
        args.push(word);
        continue;
      }
      const next = command.commands.find((candidate) => candidate.name === word);
      if (next) path.push(next);
      else if (word === HELP_COMMAND.name) help = true;
      else fail(`unknown command '${word}'${suggestion(word, command.commands.map((candidate) => candidate.name))}`);
    }
  }

  if (help) return { kind: 'help', path, incomplete: false };
  if (immediate) return { kind: 'immediate', option: immediate };
  if (mistake !== undefined) throw new UsageError(mistake);

  const command = path[path.length - 1]!;
  if (command.commands) return { kind: 'help', path, incomplete: true };

  const specs = command.arguments ?? [];
  const missing = specs.find((spec, position) => spec.required && args[position] === undefined);
  if (missing) throw new UsageError(`missing required argument '${missing.name}'`);
  if (args.length > specs.length) {
    throw new UsageError(
      `too many arguments for '${command.name}'. Expected ${specs.length} argument${specs.length === 1 ? '' : 's'} but got ${args.length}.`,
    );
  }
  specs.forEach((spec, position) => {
    const value = args[position];
    if (value !== undefined && spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(
        `command-argument value '${value}' is invalid for argument '${spec.name}'. Allowed choices are ${spec.choices.join(', ')}.`,
      );
    }
  });
  for (const option of known()) {
    if (option.default !== undefined && options[optionKey(option)] === undefined) options[optionKey(option)] = option.default;
  }
  // One entry per declared argument, `undefined` for an optional one not given.
  return { kind: 'run', path, args: specs.map((_, position) => args[position]), options };
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

const HELP_WIDTH = 80;

/** The help of the last command of `path`, laid out as commander did. */
export function helpText(path: readonly CommandSpec[]): string {
  const command = path[path.length - 1]!;
  const root = path[0]!;
  const argumentLabel = (spec: ArgumentSpec) => (spec.required ? `<${spec.name}>` : `[${spec.name}]`);
  const argumentsOf = (spec: CommandSpec) => (spec.arguments ?? []).map(argumentLabel).join(' ');
  const describeOption = (option: OptionSpec) => {
    const extras = [
      option.choices ? `choices: ${option.choices.map((choice) => `"${choice}"`).join(', ')}` : '',
      option.default !== undefined ? `default: "${option.default}"` : '',
    ].filter(Boolean);
    return extras.length > 0 ? `${option.description} (${extras.join(', ')})` : option.description;
  };

  const sections: Array<[string, Array<[string, string]>]> = [];
  const args = (command.arguments ?? []).filter((spec) => spec.description);
  if (args.length > 0) {
    sections.push([
      'Arguments',
      args.map((spec) => [
        spec.name,
        spec.choices ? `${spec.description} (choices: ${spec.choices.map((choice) => `"${choice}"`).join(', ')})` : spec.description,
      ]),
    ]);
  }
  sections.push(['Options', [...(command.options ?? []), HELP].map((option) => [optionFlags(option), describeOption(option)])]);
  if (command !== root) {
    const globals = path.slice(0, -1).flatMap((ancestor) => ancestor.options ?? []);
    if (globals.length > 0) sections.push(['Global Options', globals.map((option) => [optionFlags(option), describeOption(option)])]);
  }
  if (command.commands) {
    sections.push([
      'Commands',
      [...command.commands, HELP_COMMAND].map((sub) => [
        [sub.name, sub.options?.length ? '[options]' : '', argumentsOf(sub)].filter(Boolean).join(' '),
        sub.description,
      ]),
    ]);
  }

  const width = Math.max(...sections.flatMap(([, items]) => items.map(([term]) => term.length)));
  const usage = [
    path.map((spec) => spec.name).join(' '),
    '[options]',
    command.commands ? '[command]' : '',
    argumentsOf(command),
  ]
    .filter(Boolean)
    .join(' ');
  let text = `Usage: ${usage}\n\n${command.description}\n`;
  for (const [title, items] of sections) {
    text += `\n${title}:\n`;
    for (const [term, description] of items) {
      text += `  ${term.padEnd(width)}  ${wrap(description, HELP_WIDTH - width - 4).join(`\n${' '.repeat(width + 4)}`)}\n`;
    }
  }
  return command.helpAfter ? `${text}${command.helpAfter}\n` : text;
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
