import { defineCommand } from 'citty';
import { describe, expect, it } from 'vitest';
import { commandShape, helpText, resolveInvocation, runCommandLine, type AnyCommand } from './command-runner.js';

const globals = {
  url: { type: 'string', valueHint: 'url', description: 'server URL' },
  verbose: { type: 'boolean', alias: 'v', description: 'talk more' },
} as const;

/** What the leaf commands of the test tree were run with. */
const runs: Array<{ command: string; args: Record<string, unknown>; data: unknown }> = [];

const make = defineCommand({
  meta: { description: 'make a thing', examples: ['tool thing make x'], notes: 'Made things stay made.' },
  args: {
    name: { type: 'positional', required: true, description: 'its name' },
    kind: { type: 'positional', required: false, description: 'its kind' },
    ...globals,
    output: { type: 'enum', alias: 'o', valueHint: 'format', options: ['table', 'json'], default: 'table', description: 'output format' },
    yes: { type: 'boolean', alias: 'y', description: 'do not ask' },
    dryRun: { type: 'boolean', description: 'only say what would be made' },
  },
  run: ({ args, data }) => {
    const { name, kind, url, verbose, output, yes, dryRun } = args;
    runs.push({ command: 'make', args: { name, kind, url, verbose, output, yes, dryRun }, data });
  },
});

const tree: AnyCommand = defineCommand({
  meta: { name: 'tool', version: '1.2.3', description: 'A tool.' },
  args: { version: { type: 'boolean', alias: 'V', description: 'print the version' }, ...globals },
  subCommands: {
    thing: defineCommand({
      meta: { description: 'things', examples: ['tool thing make x', 'tool thing list'] },
      subCommands: {
        make: () => Promise.resolve(make),
        list: () =>
          defineCommand({ meta: { description: 'list things' }, run: ({ data }) => void runs.push({ command: 'list', args: {}, data }) }),
      },
    }),
  },
});

const resolve = (...argv: string[]) => resolveInvocation(tree, argv);
const names = (path: Array<{ name: string }>) => path.map((step) => step.name);

async function run(...argv: string[]) {
  runs.length = 0;
  let stdout = '';
  let stderr = '';
  const data = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } };
  const code = await runCommandLine(tree, argv, data);
  return { code, stdout, stderr, ran: runs[0], data };
}

async function usageError(...argv: string[]): Promise<string> {
  const error = await run(...argv).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, argv.join(' ')).toMatchObject({ failureKind: 'usage' });
  return (error as Error).message;
}

describe('running a command of the tree', () => {
  it('runs the leaf with typed args, the injected data, optional arguments unset and defaults applied; global options go anywhere', async () => {
    const result = await run('--verbose', 'thing', 'make', 'x', '--url', 'https://a.test');
    expect(result.code).toBe(0);
    expect(result.ran).toEqual({
      command: 'make',
      args: { name: 'x', kind: undefined, url: 'https://a.test', verbose: true, output: 'table', yes: undefined, dryRun: undefined },
      data: result.data,
    });
    expect((await run('thing', 'list')).ran).toMatchObject({ command: 'list' });
  });

  it('reads --name=value, -o value, -ovalue, clustered short flags, kebab-case names and `--`', async () => {
    expect((await run('thing', 'make', 'x', '--output=json')).ran!.args).toMatchObject({ output: 'json' });
    expect((await run('thing', 'make', 'x', '-o', 'json')).ran!.args).toMatchObject({ output: 'json' });
    expect((await run('thing', 'make', 'x', '-yvojson')).ran!.args).toMatchObject({ yes: true, verbose: true, output: 'json' });
    expect((await run('thing', 'make', 'x', '--dry-run')).ran!.args).toMatchObject({ dryRun: true });
    expect((await run('thing', 'make', '--', '-x', 'b')).ran!.args).toMatchObject({ name: '-x', kind: 'b' });
  });

  it('answers --help, -h and `help …` with the deepest command named, even after a mistake', async () => {
    for (const argv of [['thing', 'make', '--help'], ['thing', '-h', 'make'], ['help', 'thing', 'make'], ['thing', 'make', '--bogus', '-h'], ['thing', 'make', '-yh']]) {
      const invocation = await resolve(...argv);
      expect(invocation, argv.join(' ')).toMatchObject({ kind: 'help', incomplete: false });
      expect(invocation.kind === 'help' && names(invocation.path)).toEqual(['tool', 'thing', 'make']);
    }
    const help = await run('thing', 'make', '--help');
    expect(help).toMatchObject({ code: 0, stderr: '', ran: undefined });
    expect(help.stdout).toMatch(/^Usage: tool thing make /);
  });

  it('a command with sub-commands and none named prints its help on stderr and exits 2', async () => {
    for (const argv of [['thing'], []]) {
      const result = await run(...argv);
      expect(result).toMatchObject({ code: 2, stdout: '', ran: undefined });
      expect(result.stderr).toMatch(/^Usage: tool /);
    }
  });

  it('-V and --version anywhere print the root’s version', async () => {
    expect(await run('thing', 'list', '-V')).toMatchObject({ code: 0, stdout: '1.2.3\n', ran: undefined });
    expect(await run('--version')).toMatchObject({ code: 0, stdout: '1.2.3\n' });
  });

  it('throws usage errors (exit 2) worded as commander did, the first mistake on the line', async () => {
    expect(await usageError('thing', 'mkae')).toBe("unknown command 'mkae' (did you mean make?)");
    expect(await usageError('thing', 'lsit')).toBe("unknown command 'lsit' (did you mean list?)");
    expect(await usageError('frobnicate')).toBe("unknown command 'frobnicate'");
    expect(await usageError('thing', 'make')).toBe("missing required argument 'name'");
    expect(await usageError('thing', 'list', 'x')).toBe("too many arguments for 'list'. Expected 0 arguments but got 1.");
    expect(await usageError('thing', 'make', 'x', 'y', 'z')).toBe("too many arguments for 'make'. Expected 2 arguments but got 3.");
    expect(await usageError('thing', 'make', 'x', '-o', 'yaml')).toBe(
      "option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are table, json.",
    );
    expect(await usageError('thing', 'make', 'x', '--output')).toBe("option '-o, --output <format>' argument missing");
    expect(await usageError('thing', 'make', 'x', '--yes=no')).toBe("option '-y, --yes' takes no value");
    expect(await usageError('thing', 'make', 'x', '--no-yes')).toBe("unknown option '--no-yes'");
    expect(await usageError('thing', 'list', '--output', 'json')).toBe("unknown option '--output'");
    expect(await usageError('thing', 'list', '-q')).toBe("unknown option '-q'");
    expect(await usageError('--bogus', 'frobnicate')).toBe("unknown option '--bogus'");
    expect(runs).toEqual([]);
  });
});

describe('helpText', () => {
  it('lays out usage, arguments, options, global options and the examples and notes last', async () => {
    const invocation = await resolve('thing', 'make', '--help');
    expect(invocation.kind === 'help' && (await helpText(invocation.path))).toBe(
      [
        'Usage: tool thing make [options] <name> [kind]',
        '',
        'make a thing',
        '',
        'Arguments:',
        '  name                   its name',
        '  kind                   its kind',
        '',
        'Options:',
        '  -o, --output <format>  output format (choices: "table", "json", default:',
        '                         "table")',
        '  -y, --yes              do not ask',
        '  --dry-run              only say what would be made',
        '  -h, --help             display help for command',
        '',
        'Global Options:',
        '  -V, --version          print the version',
        '  --url <url>            server URL',
        '  -v, --verbose          talk more',
        '',
        'Example:',
        '  $ tool thing make x',
        '',
        'Made things stay made.',
        '',
        '',
      ].join('\n'),
    );
  });

  it('lists sub-commands with their options marker and arguments, and `help`', async () => {
    const invocation = await resolve('thing', '--help');
    const text = invocation.kind === 'help' ? await helpText(invocation.path) : '';
    expect(text).toMatch(/^Usage: tool thing \[options\] \[command\]\n\nthings\n/);
    expect(text).toContain(
      'Commands:\n  make [options] <name> [kind]  make a thing\n  list                          list things\n  help [command]                display help for command\n\nExamples:\n  $ tool thing make x\n  $ tool thing list\n\n',
    );
  });
});

describe('commandShape', () => {
  it('names every command and its own options (globals only at the root), for completion', async () => {
    expect(await commandShape(tree)).toEqual({
      name: 'tool',
      options: ['--version', '--url', '--verbose'],
      commands: [
        {
          name: 'thing',
          options: [],
          commands: [
            { name: 'make', options: ['--output', '--yes', '--dry-run'], commands: [] },
            { name: 'list', options: [], commands: [] },
          ],
        },
      ],
    });
  });
});
