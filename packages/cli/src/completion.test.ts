import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { completionScript, type CommandShape } from './completion.js';

const tree: CommandShape = {
  name: 'latchkey',
  options: ['--version', '--url'],
  commands: [
    { name: 'namespace', options: [], commands: [{ name: 'delete', options: ['--yes'], commands: [] }] },
    {
      name: 'token',
      options: [],
      commands: [
        { name: 'create', options: ['--scope', '--name'], commands: [], values: [{ option: '--scope', words: ['namespaces:read', 'namespaces:write', 'tokens:read', 'introspect'] }] },
      ],
    },
    { name: 'version', options: ['--output'], commands: [] },
  ],
};

function bashComplete(words: string[]): string {
  const result = spawnSync(
    'bash',
    ['-c', `eval "$SCRIPT"; COMP_WORDS=(${words.map((word) => `"${word}"`).join(' ')}); COMP_CWORD=${words.length - 1}; _latchkey; echo "\${COMPREPLY[*]}"`],
    { env: { PATH: process.env.PATH ?? '', SCRIPT: completionScript('bash', tree) }, encoding: 'utf8' },
  );
  return result.stdout.trim();
}

/**
 * Completes a whole line as bash would: COMP_LINE and COMP_POINT, and COMP_WORDS split at
 * blanks and at ":" (in COMP_WORDBREAKS by default), the ":" a word of its own.
 */
function bashCompleteLine(line: string): string {
  const words = line.split(' ').flatMap((word) => word.split(/(:)/)).filter((word, index, all) => word !== '' || index === all.length - 1);
  const result = spawnSync(
    'bash',
    [
      '-c',
      `eval "$SCRIPT"; COMP_LINE="$LINE"; COMP_POINT=\${#LINE}; COMP_WORDS=(${words.map((word) => `"${word}"`).join(' ')}); COMP_CWORD=${words.length - 1}; _latchkey; echo "\${COMPREPLY[*]}"`,
    ],
    { env: { PATH: process.env.PATH ?? '', SCRIPT: completionScript('bash', tree), LINE: line }, encoding: 'utf8' },
  );
  return result.stdout.trim();
}

describe('bash completion', () => {
  it('completes nouns, verbs and options from the tree', () => {
    expect(bashComplete(['latchkey', ''])).toBe('namespace token version --version --url');
    expect(bashComplete(['latchkey', 'namespace', 'd'])).toBe('delete');
    expect(bashComplete(['latchkey', 'namespace', 'delete', '--'])).toBe('--yes --url');
    expect(bashComplete(['latchkey', 'version', '--o'])).toBe('--output');
  });

  it('completes an option’s values (the scope names), the ":" in them and comma-separated lists included', () => {
    expect(bashCompleteLine('latchkey token create --scope ')).toBe('namespaces:read namespaces:write tokens:read introspect');
    expect(bashCompleteLine('latchkey token create --scope in')).toBe('introspect');
    // bash has split "namespaces:w" at the ":": the reply is what follows it.
    expect(bashCompleteLine('latchkey token create --scope namespaces:w')).toBe('write');
    expect(bashCompleteLine('latchkey token create --scope namespaces:')).toBe('read write');
    expect(bashCompleteLine('latchkey token create --name x --scope introspect,tok')).toBe('introspect,tokens:read');
    expect(bashCompleteLine('latchkey token create --scope introspect,tokens:r')).toBe('read');
    // After the value, options again.
    expect(bashCompleteLine('latchkey token create --scope introspect --n')).toBe('--name');
  });
});

describe('zsh completion', () => {
  const zsh = spawnSync('zsh', ['--version']);
  // CI installs zsh (.ci/run), so there the check is never skipped.
  it.skipIf(zsh.error !== undefined && !process.env.CI)('parses (zsh -n)', () => {
    const result = spawnSync('zsh', ['-n'], { input: completionScript('zsh', tree), encoding: 'utf8' });
    expect(result.status).toBe(0);
  });
  it('names every verb and option', () => {
    const script = completionScript('zsh', tree);
    expect(script).toContain('#compdef latchkey');
    expect(script).toContain('namespace) candidates=(delete) ;;');
    expect(script).toContain('"namespace delete") candidates=(--yes --url) ;;');
    expect(script).toContain('"token create --scope") candidates=(namespaces:read namespaces:write tokens:read introspect) ;;');
  });

  it.skipIf(zsh.error !== undefined)('offers the values after the option, also after a comma', () => {
    // The function's own logic, with compadd/compset stubbed to print what would be offered.
    const run = (line: string) =>
      spawnSync(
        'zsh',
        [
          '-c',
          `compdef() { :; }; compset() { [[ $PREFIX == *,* ]] && PREFIX=\${PREFIX##*,}; }; compadd() { shift; print -r -- "$PREFIX|$*"; }; eval "$SCRIPT"; words=(\${=LINE}); [[ $LINE == *' ' ]] && words+=(''); CURRENT=\${#words}; PREFIX=\${words[CURRENT]}; _latchkey`,
        ],
        { env: { PATH: process.env.PATH ?? '', SCRIPT: completionScript('zsh', tree), LINE: line }, encoding: 'utf8' },
      ).stdout.trim();
    expect(run('latchkey token create --scope ')).toBe('|namespaces:read namespaces:write tokens:read introspect');
    expect(run('latchkey token create --scope introspect,tok')).toBe('tok|namespaces:read namespaces:write tokens:read introspect');
    expect(run('latchkey token create --n')).toBe('--n|--scope --name --url');
  });
});

describe('completion three words deep (latchkey admin accounts list)', () => {
  const deep: CommandShape = {
    name: 'latchkey',
    options: ['--version', '--url'],
    commands: [
      { name: 'token', options: [], commands: [{ name: 'revoke', options: ['--yes'], commands: [] }] },
      {
        name: 'admin',
        options: [],
        commands: [
          {
            name: 'accounts',
            options: [],
            commands: [
              { name: 'list', options: ['--search', '--state'], commands: [] },
              { name: 'disable', options: ['--yes'], commands: [] },
            ],
          },
          {
            name: 'tokens',
            options: [],
            commands: [{ name: 'list', options: ['--scope', '--owner'], commands: [], values: [{ option: '--scope', words: ['admin:read', 'admin:write', 'tokens:read'] }] }],
          },
          { name: 'audit', options: ['--actor', '--output'], commands: [] },
        ],
      },
    ],
  };

  function bash(line: string): string {
    const words = line.split(' ').flatMap((word) => word.split(/(:)/)).filter((word, index, all) => word !== '' || index === all.length - 1);
    return spawnSync(
      'bash',
      [
        '-c',
        `eval "$SCRIPT"; COMP_LINE="$LINE"; COMP_POINT=\${#LINE}; COMP_WORDS=(${words.map((word) => `"${word}"`).join(' ')}); COMP_CWORD=${words.length - 1}; _latchkey; echo "\${COMPREPLY[*]}"`,
      ],
      { env: { PATH: process.env.PATH ?? '', SCRIPT: completionScript('bash', deep), LINE: line }, encoding: 'utf8' },
    ).stdout.trim();
  }

  it('bash: the group\'s verbs, their options and values, and the two-word commands as before', () => {
    expect(bash('latchkey admin ')).toBe('accounts tokens audit');
    expect(bash('latchkey admin accounts ')).toBe('list disable');
    expect(bash('latchkey admin accounts list --s')).toBe('--search --state');
    expect(bash('latchkey admin accounts disable bob@example.com --')).toBe('--yes --url');
    expect(bash('latchkey admin audit --a')).toBe('--actor');
    expect(bash('latchkey admin tokens list --scope admin:')).toBe('read write');
    expect(bash('latchkey admin tokens list --scope adm')).toBe('admin:read admin:write');
    expect(bash('latchkey token revoke --')).toBe('--yes --url');
    expect(bash('latchkey token revoke 123 --')).toBe('--yes --url');
  });

  const zsh = spawnSync('zsh', ['--version']);
  it.skipIf(zsh.error !== undefined && !process.env.CI)('zsh: parses, and offers the group\'s verbs, options and values', () => {
    const script = completionScript('zsh', deep);
    expect(spawnSync('zsh', ['-n'], { input: script, encoding: 'utf8' }).status).toBe(0);
    const run = (line: string) =>
      spawnSync(
        'zsh',
        [
          '-c',
          `compdef() { :; }; compset() { [[ $PREFIX == *,* ]] && PREFIX=\${PREFIX##*,}; }; compadd() { shift; print -r -- "$*"; }; eval "$SCRIPT"; words=(\${=LINE}); [[ $LINE == *' ' ]] && words+=(''); CURRENT=\${#words}; PREFIX=\${words[CURRENT]}; _latchkey`,
        ],
        { env: { PATH: process.env.PATH ?? '', SCRIPT: script, LINE: line }, encoding: 'utf8' },
      ).stdout.trim();
    expect(run('latchkey admin accounts ')).toBe('list disable');
    expect(run('latchkey admin accounts list --')).toBe('--search --state --url');
    expect(run('latchkey admin tokens list --scope ')).toBe('admin:read admin:write tokens:read');
    expect(run('latchkey token revoke --')).toBe('--yes --url');
  });
});
