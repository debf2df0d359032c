/**
 * Terminal escape injection, CLI half (CWE-150), with the real built `latchkey` binary against the
 * real server app listening on a loopback port. Token names that slipped in before validation
 * (seeded straight into the database) carry ESC/OSC/C1/bidi sequences; every command that
 * prints a server-supplied name must print them escaped (`\x1b` shown literally) in text and
 * as JSON escapes in `--output json`.
 *
 * The CLI has no `tokens list` (a personal access token may not list tokens: R-SCOPE); the
 * commands that print names from the server are `token show` (the token's own name) and
 * `namespace list`. In-process versions of both checks are in namespace-and-token.test.ts;
 * cli-binary.test.ts runs `namespace list` with an OSC 8 name through the binary.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAY_MS } from '@latchkey/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../server/test/support/app.js';
import { closeServerApp, createServerApp, seedNamespace, seedToken } from './support/server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const latchkey = join(root, 'node_modules/.bin/latchkey');
/** Raw ESC, BEL, C1 controls (CSI 0x9b, OSC 0x9d, ST 0x9c) and bidi/zero-width characters. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/;

/** Each: the seeded name, and how `token show` must print it. */
const NAMES: Array<[string, string]> = [
  ['clear\u001b[2J\u001b[H', 'clear\\x1b[2J\\x1b[H'],
  ['title\u001b]0;pwned\u0007', 'title\\x1b]0;pwned\\x07'],
  ['link\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\', 'link\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\'],
  ['clip\u001b]52;c;aGk=\u0007', 'clip\\x1b]52;c;aGk=\\x07'],
  ['c1\u009b31mred\u009d0;t\u009c', 'c1\\x9b31mred\\x9d0;t\\x9c'],
  ['bidi\u202egnp.exe\u2066x\u200b', 'bidi\\u{202e}gnp.exe\\u{2066}x\\u{200b}'],
  ['line\r\nName: admin', 'line\\x0d\\x0aName: admin'],
];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const home = mkdtempSync(join(tmpdir(), 'latchkey-cli-escape-'));
    const child = spawn(latchkey, args, { env: { PATH: process.env.PATH ?? '', HOME: home, LATCHKEY_HOME: join(home, '.latchkey'), ...env } });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(home, { recursive: true, force: true });
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}

// docs/security.md, item 40
describe('the latchkey binary prints server text with escape sequences (ESC, OSC) escaped', () => {
  let app: TestApp;
  let url: string;
  let accountId: string;

  beforeAll(async () => {
    // Rebuilt so this tests the sources (esbuild: well under a second), under the shared lock.
    const build = spawnSync('flock', ['/tmp/latchkey-build.lock', process.execPath, 'packages/cli/scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`building the CLI failed:\n${build.stdout}\n${build.stderr}`);
    app = await createServerApp();
    await app.http.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.http.server.address() as AddressInfo).port}`;
    accountId = (await app.signIn()).account.id;
  }, 120_000);
  afterAll(async () => {
    await closeServerApp(app);
  });

  it('token show: text and --output json, and the expiry warning on stderr', async () => {
    for (const [index, [name, shown]] of NAMES.entries()) {
      // Every other one expires within a week, so the stderr warning (which names nothing) runs too.
      const expiresAt = Date.now() + (index % 2 === 0 ? 3 : 100) * DAY_MS;
      const token = await seedToken(app.database, accountId, { name, expiresAt });
      const env = { LATCHKEY_URL: url, LATCHKEY_TOKEN: token };

      const text = await run(['token', 'show'], env);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout, JSON.stringify(text.stdout)).not.toMatch(RAW_CONTROL);
      expect(text.stderr, JSON.stringify(text.stderr)).not.toMatch(RAW_CONTROL);
      const nameLine = text.stdout.split('\n').find((line) => line.startsWith('Name:'))!;
      expect(nameLine.replace(/^Name:\s+/, '')).toBe(shown);
      if (index % 2 === 0) expect(text.stderr).toMatch(/^warning: this token expires in 3 days/m);
      // A name cannot forge a line of its own.
      expect(text.stdout.split('\n').filter((line) => line.startsWith('Name:'))).toHaveLength(1);

      const json = await run(['token', 'show', '--output', 'json'], env);
      expect(json.code).toBe(0);
      expect(json.stdout).not.toMatch(RAW_CONTROL);
      expect((JSON.parse(json.stdout) as { name: string }).name).toBe(name);
      expect(json.stdout.includes(token) || text.stdout.includes(token)).toBe(false);
    }
  });

  it('namespace list: names seeded with the same sequences', async () => {
    const token = await seedToken(app.database, accountId, { name: 'lister', expiresAt: Date.now() + 100 * DAY_MS });
    for (const [name] of NAMES) await seedNamespace(app.database, accountId, name);
    const env = { LATCHKEY_URL: url, LATCHKEY_TOKEN: token };
    const text = await run(['namespace', 'list'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(RAW_CONTROL);
    for (const [, shown] of NAMES) expect(text.stdout).toContain(shown.split('\\x0d')[0]);
    const json = await run(['namespace', 'list', '--output', 'json'], env);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    const listed = (JSON.parse(json.stdout) as { namespaces: Array<{ name: string }> }).namespaces;
    expect(listed.map((ns) => ns.name).sort()).toEqual(NAMES.map(([name]) => name).sort());
  });
});
