/**
 * The command tree: names, arguments, options, help texts with an example each. Command
 * logic lives in `commands/` and is loaded only when a command needs it, so `latchkey --help`,
 * `latchkey version` and `latchkey completion` load nothing but this file, the small parser in
 * command-line.ts and a few helpers: no dependency, no zod (PERFORMANCE.md P6).
 */
import { helpText, parseCommandLine, type CommandSpec, type OptionSpec } from './command-line.js';
import { COMPLETION_SHELLS, completionScript, type CommandShape, type CompletionShell } from './completion.js';
import type { GlobalOptions } from './credentials.js';
import type { CliIo } from './io.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';
import { VERSION } from './version.js';
import { printVersion } from './commands/version.js';

/** The server commands, in a file of their own once bundled (see commands/index.ts). */
const loadCommands = () => import('./commands/index.js');

type Options = GlobalOptions & { output?: OutputFormat; yes?: boolean; includeToken?: boolean; name?: string; namespace?: string };

const outputOption: OptionSpec = {
  long: '--output',
  short: '-o',
  value: 'format',
  description: 'output format',
  choices: OUTPUT_FORMATS,
  default: 'table',
};
const yesOption: OptionSpec = { long: '--yes', short: '-y', description: 'do not ask for confirmation (for scripts)' };
const versionOption: OptionSpec = { long: '--version', short: '-V', description: 'print the version', immediate: true };

function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/** An action that receives the positional arguments and the options as the commands expect them. */
function action<A extends Array<string | undefined>>(
  run: (...args: [...A, Options]) => Promise<void> | void,
): CommandSpec['action'] {
  return (args, options) => run(...([...args, options as Options] as [...A, Options]));
}

export function createProgram(io: CliIo): CommandSpec {
  const program: CommandSpec = {
    name: 'latchkey',
    description: 'Manage Latchkey contexts, namespaces and personal access tokens.',
    options: [
      versionOption,
      { long: '--url', value: 'url', description: 'server URL (default: LATCHKEY_URL, then the current context)' },
      { long: '--token', value: 'token', description: 'personal access token (prefer LATCHKEY_TOKEN or --token-stdin)' },
      { long: '--token-stdin', description: 'read the personal access token from standard input' },
      { long: '--verbose', short: '-v', description: 'print each request and its status on stderr (never the token)' },
    ],
    helpAfter:
      examples(
        'latchkey context use https://latchkey.example.com --token-stdin < token.txt',
        'LATCHKEY_URL=https://latchkey.example.com LATCHKEY_TOKEN=lk_pat_1… latchkey namespace create pr-123',
      ) +
      '\nCredentials: --url/--token flags, then LATCHKEY_URL, LATCHKEY_TOKEN and LATCHKEY_NAMESPACE,\n' +
      'then the current context in $LATCHKEY_HOME/config.json (default ~/.latchkey).\n' +
      'Exit codes: 0 ok, 1 error, 2 usage.\n',
    commands: [
      {
        name: 'context',
        description: 'stored servers and tokens ("contexts") and which one is current',
        helpAfter: examples('latchkey context use https://latchkey.example.com', 'latchkey context list'),
        commands: [
          {
            name: 'use',
            description: 'add a context for URL (or switch to the stored context NAME) and make it current',
            arguments: [{ name: 'url-or-name', required: true, description: 'server URL to sign in to, or the name of a stored context' }],
            options: [
              { long: '--name', value: 'name', description: 'name for the new context (default: the URL’s host)' },
              { long: '--namespace', value: 'namespace', description: 'default namespace for the new context' },
            ],
            helpAfter:
              examples(
                'latchkey context use https://latchkey.example.com            # signs in with the browser',
                'latchkey context use https://latchkey.example.com --token-stdin < token.txt',
                'latchkey context use latchkey.example.com                    # switch to a stored context',
              ) + '\nWith no token, a terminal, and CI unset, the browser opens to sign in and mint a token.\n',
            action: action<[string]>(async (target, options) => (await loadCommands()).useContext(io, target, options)),
          },
          {
            name: 'list',
            description: 'list the stored contexts',
            options: [outputOption],
            helpAfter: examples('latchkey context list --output json'),
            action: action<[]>(async (options) => (await loadCommands()).listContexts(io, options)),
          },
          {
            name: 'show',
            description: 'show the current context (or NAME); the token only with --include-token',
            arguments: [{ name: 'name', required: false, description: 'a stored context (default: the current one)' }],
            options: [{ long: '--include-token', description: 'also print the token itself' }, outputOption],
            helpAfter: examples('latchkey context show', 'latchkey context show --include-token --output json'),
            action: action<[string | undefined]>(async (name, options) => (await loadCommands()).showContext(io, name, options)),
          },
          {
            name: 'delete',
            description: 'forget a stored context (the token itself stays valid)',
            arguments: [{ name: 'name', required: true, description: 'the context to forget' }],
            helpAfter: examples('latchkey context delete latchkey.example.com'),
            action: action<[string]>(async (name) => (await loadCommands()).deleteContext(io, name)),
          },
        ],
      },
      {
        name: 'namespace',
        description: 'create, list, delete and pick namespaces',
        helpAfter: examples('latchkey namespace create pr-123', 'latchkey namespace list --output json'),
        commands: [
          {
            name: 'create',
            description: 'create a namespace (a DNS-1123 label: a-z, 0-9 and "-", at most 63)',
            arguments: [{ name: 'name', required: true, description: 'the new namespace' }],
            options: [outputOption],
            helpAfter: examples('latchkey namespace create test-cindylopez'),
            action: action<[string]>(async (name, options) => (await loadCommands()).createNamespace(io, name, options)),
          },
          {
            name: 'list',
            description: 'list your namespaces',
            options: [outputOption],
            helpAfter: examples('latchkey namespace list', 'latchkey namespace list --output json'),
            action: action<[]>(async (options) => (await loadCommands()).listNamespaces(io, options)),
          },
          {
            name: 'delete',
            description: 'delete a namespace (asks first on a terminal)',
            arguments: [{ name: 'name', required: true, description: 'the namespace to delete' }],
            options: [yesOption],
            helpAfter: examples('latchkey namespace delete pr-123', 'latchkey namespace delete pr-123 --yes   # in scripts'),
            action: action<[string]>(async (name, options) => (await loadCommands()).deleteNamespace(io, name, options)),
          },
          {
            name: 'use',
            description: 'make NAME the current context’s default namespace',
            arguments: [{ name: 'name', required: true, description: 'an existing namespace' }],
            helpAfter: examples('latchkey namespace use test-cindylopez'),
            action: action<[string]>(async (name, options) => (await loadCommands()).useNamespace(io, name, options)),
          },
        ],
      },
      {
        name: 'token',
        description: 'the personal access token in use',
        helpAfter: examples('latchkey token show', 'latchkey token revoke --yes'),
        commands: [
          {
            name: 'show',
            description: 'show the token in use: name, state, expiry, last use (never the secret)',
            options: [outputOption],
            helpAfter: examples('latchkey token show --output json'),
            action: action<[]>(async (options) => (await loadCommands()).showToken(io, options)),
          },
          {
            name: 'revoke',
            description: 'revoke the token in use, at once and for good, and remove it from its context',
            options: [yesOption],
            helpAfter: examples('latchkey token revoke', 'LATCHKEY_TOKEN=lk_pat_1… latchkey token revoke --yes'),
            action: action<[]>(async (options) => (await loadCommands()).revokeToken(io, options)),
          },
        ],
      },
      {
        name: 'version',
        description: 'print the version',
        options: [outputOption],
        helpAfter: examples('latchkey version --output json'),
        action: action<[]>((options) => printVersion(io, options)),
      },
      {
        name: 'completion',
        description: 'print a shell completion script',
        arguments: [{ name: 'shell', required: true, description: 'bash or zsh', choices: COMPLETION_SHELLS }],
        helpAfter: examples('source <(latchkey completion bash)', 'latchkey completion zsh > "${fpath[1]}/_latchkey"'),
        action: action<[string]>((shell) => void io.stdout.write(completionScript(shell as CompletionShell, shapeOf(program)))),
      },
    ],
  };
  return program;
}

/**
 * Parses `argv` and runs the command it names. Resolves with 0, or 2 for a noun without a verb
 * (its help goes to stderr); usage mistakes throw a `UsageError` for `main` to report.
 */
export async function runProgram(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  const invocation = parseCommandLine(program, argv);
  switch (invocation.kind) {
    case 'help': {
      const text = helpText(invocation.path);
      (invocation.incomplete ? io.stderr : io.stdout).write(text);
      return invocation.incomplete ? 2 : 0;
    }
    case 'immediate': // -V/--version, the only immediate option
      io.stdout.write(`${VERSION}\n`);
      return 0;
    case 'run':
      await invocation.path[invocation.path.length - 1]!.action!(invocation.args, invocation.options);
      return 0;
  }
}

function shapeOf(command: CommandSpec): CommandShape {
  return {
    name: command.name,
    options: (command.options ?? []).map((option) => option.long),
    commands: (command.commands ?? []).map(shapeOf),
  };
}
