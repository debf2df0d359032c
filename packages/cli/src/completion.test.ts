import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { completionScript, type CommandShape } from './completion.js';

const tree: CommandShape = {
  name: 'latchkey',
  options: ['--version', '--url'],
  commands: [
    { name: 'namespace', options: [], commands: [{ name: 'delete', options: ['--yes'], commands: [] }] },
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

describe('bash completion', () => {
  it('completes nouns, verbs and options from the tree', () => {
    expect(bashComplete(['latchkey', ''])).toBe('namespace version --version --url');
    expect(bashComplete(['latchkey', 'namespace', 'd'])).toBe('delete');
    expect(bashComplete(['latchkey', 'namespace', 'delete', '--'])).toBe('--yes --url');
    expect(bashComplete(['latchkey', 'version', '--o'])).toBe('--output');
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
  });
});
