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
