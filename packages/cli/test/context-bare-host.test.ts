/**
 * The built `latchkey` binary against a real `latchkey-server` on 127.0.0.1: `context use` takes
 * a bare host as `gh` and `kubectl` do (http for a loopback address) and says which URL it
 * stored, and an account without an email is called by its name, never by its id.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../server/src/audit/audit-event.js';
import type { Database } from '../../server/src/database/database.js';
import { openDatabase } from '../../server/src/database/open-database.js';
import { createLogger } from '../../server/src/http/logging.js';
import { systemClock } from '../../server/src/kernel/clock.js';
import { createServices, type Services } from '../../server/src/services.js';
import { ensureServerBuilt, freePort, startServer, type ServerProcess } from '../../server/test/support/server-process.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const latchkey = join(root, 'node_modules/.bin/latchkey');

let workDir: string;
let server: ServerProcess | undefined;
let port: number;
let database: Database;
let services: Services;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runLatchkey(args: string[], home: string, input = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(latchkey, args, { env: { PATH: process.env.PATH ?? '', HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

function freshHome(name: string): string {
  const home = join(workDir, name);
  mkdirSync(home);
  return home;
}

/** An account as the first administrator gets one (a name, no email), and a token of its. */
async function tokenOfNamedAccount(name: string): Promise<string> {
  const account = await services.accounts.create({ name }, SYSTEM_ACTOR);
  return (await services.tokens.create(account.id, { name: 'laptop' }, SYSTEM_ACTOR)).secret;
}

beforeAll(async () => {
  ensureServerBuilt();
  const build = spawnSync('node', ['packages/cli/scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`the CLI build failed:\n${build.stdout}\n${build.stderr}`);
  workDir = mkdtempSync(join(tmpdir(), 'latchkey-cli-bare-host-'));
  const databaseUrl = `sqlite:${join(workDir, 'db', 'latchkey.db')}`;
  port = await freePort();
  server = await startServer({ name: 'latchkey-server', port, env: { PUBLIC_URL: `http://127.0.0.1:${port}`, DATABASE_URL: databaseUrl } });
  database = openDatabase(databaseUrl);
  services = createServices({
    database,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100 },
    publicUrl: `http://127.0.0.1:${port}`,
  });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await services?.close();
  await database?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('latchkey context use HOST (built binary)', () => {
  it('takes 127.0.0.1:PORT with --token-stdin as http://127.0.0.1:PORT, says so, stores it, and works with it', async () => {
    const secret = await tokenOfNamedAccount('Ada Lovelace');
    const home = freshHome('loopback');
    const use = await runLatchkey(['context', 'use', `127.0.0.1:${port}`, '--token-stdin'], home, `${secret}\n`);
    expect(use, use.stderr).toMatchObject({ code: 0 });
    expect(use.stderr).toBe(`Using http://127.0.0.1:${port} for "127.0.0.1:${port}".\n`);
    expect(use.stdout).toContain(`on http://127.0.0.1:${port}, token "laptop"`);

    const config = JSON.parse(readFileSync(join(home, '.latchkey', 'config.json'), 'utf8'));
    expect(config.contexts).toEqual([expect.objectContaining({ name: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` })]);
    expect(config.currentContext).toBe(`127.0.0.1:${port}`);

    const shown = await runLatchkey(['token', 'show'], home);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^Name:\s+laptop$/m);

    // The stored name switches back to it, as before.
    const again = await runLatchkey(['context', 'use', `127.0.0.1:${port}`], home);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toBe(`Switched to context "127.0.0.1:${port}" (http://127.0.0.1:${port}).\n`);
  });

  it('calls an account without an email by its name, in context use, list and show, never by its id', async () => {
    const secret = await tokenOfNamedAccount('Grace Hopper');
    const home = freshHome('named');
    const use = await runLatchkey(['context', 'use', `http://127.0.0.1:${port}`, '--token-stdin'], home, secret);
    expect(use.code).toBe(0);
    expect(use.stdout).toContain('is now current: Grace Hopper on');
    const list = await runLatchkey(['context', 'list'], home);
    expect(list.stdout).toMatch(/^\*\s+127\.0\.0\.1:\d+\s+http:\S+\s+Grace Hopper\s+-$/m);
    const show = await runLatchkey(['context', 'show'], home);
    expect(show.stdout).toMatch(/^Account:\s+Grace Hopper$/m);
    const config = JSON.parse(readFileSync(join(home, '.latchkey', 'config.json'), 'utf8'));
    const accountId = config.contexts[0].account.id as string;
    for (const output of [use.stdout, list.stdout, show.stdout]) expect(output).not.toContain(accountId);
  });
});
