import { describe, expect, it } from 'vitest';
import { helpText, parseCommandLine, type CommandSpec } from './command-line.js';

const tree: CommandSpec = {
  name: 'tool',
  description: 'A tool.',
  options: [
    { long: '--version', short: '-V', description: 'print the version', immediate: true },
    { long: '--url', value: 'url', description: 'server URL' },
    { long: '--verbose', short: '-v', description: 'talk more' },
  ],
  commands: [
    {
      name: 'thing',
      description: 'things',
      helpAfter: '\nExample:\n  $ tool thing make x\n',
      commands: [
        {
          name: 'make',
          description: 'make a thing',
          arguments: [
            { name: 'name', required: true, description: 'its name' },
            { name: 'kind', required: false, description: 'its kind', choices: ['a', 'b'] },
          ],
          options: [
            { long: '--output', short: '-o', value: 'format', description: 'output format', choices: ['table', 'json'], default: 'table' },
            { long: '--yes', short: '-y', description: 'do not ask' },
          ],
          action: () => undefined,
        },
        { name: 'list', description: 'list things', action: () => undefined },
      ],
    },
  ],
};

const parse = (...argv: string[]) => parseCommandLine(tree, argv);

describe('parseCommandLine', () => {
  it('finds the command, pads optional arguments, applies defaults, takes global options anywhere', () => {
    const parsed = parse('--verbose', 'thing', 'make', 'x', '--url', 'https://a.test');
    expect(parsed).toMatchObject({ kind: 'run', args: ['x', undefined], options: { verbose: true, url: 'https://a.test', output: 'table' } });
    expect(parsed.kind === 'run' && parsed.path.map((command) => command.name)).toEqual(['tool', 'thing', 'make']);
  });

  it('reads --name=value, -o value, -ovalue, clustered short flags and `--`', () => {
    expect(parse('thing', 'make', 'x', '--output=json')).toMatchObject({ options: { output: 'json' } });
    expect(parse('thing', 'make', 'x', '-o', 'json')).toMatchObject({ options: { output: 'json' } });
    expect(parse('thing', 'make', 'x', '-yvojson')).toMatchObject({ options: { yes: true, verbose: true, output: 'json' } });
    expect(parse('thing', 'make', '--', '-x', 'b')).toMatchObject({ args: ['-x', 'b'] });
  });

  it('answers --help, -h and `help …` for the deepest command named, even after a mistake', () => {
    for (const argv of [['thing', 'make', '--help'], ['thing', '-h', 'make'], ['help', 'thing', 'make'], ['thing', 'make', '--bogus', '-h']]) {
      const parsed = parse(...argv);
      expect(parsed).toMatchObject({ kind: 'help', incomplete: false });
      expect(parsed.kind === 'help' && parsed.path.at(-1)!.name).toBe('make');
    }
    expect(parse('thing')).toMatchObject({ kind: 'help', incomplete: true });
    expect(parse()).toMatchObject({ kind: 'help', incomplete: true });
    expect(parse('thing', 'list', '-V')).toMatchObject({ kind: 'immediate', option: { long: '--version' } });
  });

  it('throws usage errors worded as commander did', () => {
    const usage = (argv: string[]) => {
      try {
        parse(...argv);
      } catch (error) {
        expect(error).toMatchObject({ failureKind: 'usage' });
        return (error as Error).message;
      }
      throw new Error(`no usage error for ${argv.join(' ')}`);
    };
    expect(usage(['thing', 'mkae'])).toBe("unknown command 'mkae' (did you mean make?)");
    expect(usage(['frobnicate'])).toBe("unknown command 'frobnicate'");
    expect(usage(['thing', 'make'])).toBe("missing required argument 'name'");
    expect(usage(['thing', 'list', 'x'])).toBe("too many arguments for 'list'. Expected 0 arguments but got 1.");
    expect(usage(['thing', 'make', 'x', 'c'])).toBe("command-argument value 'c' is invalid for argument 'kind'. Allowed choices are a, b.");
    expect(usage(['thing', 'make', 'x', '-o', 'yaml'])).toBe(
      "option '-o, --output <format>' argument 'yaml' is invalid. Allowed choices are table, json.",
    );
    expect(usage(['thing', 'make', 'x', '--output'])).toBe("option '-o, --output <format>' argument missing");
    expect(usage(['thing', 'make', 'x', '--yes=no'])).toBe("option '-y, --yes' takes no value");
    expect(usage(['thing', 'list', '--output', 'json'])).toBe("unknown option '--output'");
    expect(usage(['thing', 'list', '-q'])).toBe("unknown option '-q'");
  });
});

describe('helpText', () => {
  it('lays out usage, arguments, options, global options, commands and the text after', () => {
    const thing = tree.commands![0]!;
    expect(helpText([tree, thing, thing.commands![0]!])).toBe(
      [
        'Usage: tool thing make [options] <name> [kind]',
        '',
        'make a thing',
        '',
        'Arguments:',
        '  name                   its name',
        '  kind                   its kind (choices: "a", "b")',
        '',
        'Options:',
        '  -o, --output <format>  output format (choices: "table", "json", default:',
        '                         "table")',
        '  -y, --yes              do not ask',
        '  -h, --help             display help for command',
        '',
        'Global Options:',
        '  -V, --version          print the version',
        '  --url <url>            server URL',
        '  -v, --verbose          talk more',
        '',
      ].join('\n'),
    );
    expect(helpText([tree, thing])).toContain(
      'Commands:\n  make [options] <name> [kind]  make a thing\n  list                          list things\n  help [command]                display help for command\n\nExample:\n  $ tool thing make x\n\n',
    );
  });
});
