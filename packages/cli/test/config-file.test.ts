/**
 * docs/security.md, item 60: the built `latchkey` binary writes its config atomically without
 * following symbolic links. Symbolic links to a victim file are planted where a temp file could be
 * written (the old fixed name `config.json.<pid>.tmp` for the pids the next runs will likely get,
 * and other plausible names); switching contexts rewrites the config, and the victim is
 * untouched. `context use NAME` needs no server, so no network is involved.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateToken } from '@latchkey/contract/token';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** The installed command (what `npm` links as `latchkey`), run by this node. */
const latchkey = join(root, 'packages/cli/bin/latchkey.cjs');
const VICTIM_TEXT = 'precious: not a latchkey config\n';

let workDir: string;

beforeAll(() => {
  // Always rebuilt (esbuild, well under a second) so this tests the sources.
  const build = spawnSync('node', ['packages/cli/scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`the CLI build failed:\n${build.stdout}\n${build.stderr}`);
  workDir = mkdtempSync(join(tmpdir(), 'latchkey-cli-config-'));
}, 60_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function storedContext(name: string) {
  return {
    name,
    url: `https://${name}`,
    account: { id: 'acc_1', email: 'dev@example.test' },
    token: null,
    tokenName: null,
    tokenExpiresAt: null,
    namespace: null,
  };
}

/** Runs the binary under `umask 000`, so only the modes the CLI sets itself count. */
function runLatchkey(home: string, args: string[]) {
  return spawnSync('sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, latchkey, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** The same, without blocking this process (a stand-in server answers it meanwhile). */
function runLatchkeyAsync(home: string, args: string[], input: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, latchkey, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: home },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

/** The pid the kernel handed out last: the next processes get the ones just above it. */
function lastPid(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
  } catch {
    return process.pid;
  }
}

describe('latchkey config file (built binary)', () => {
  it('never follows a symbolic link planted at a temp-file name: the victim is unchanged, the config written 0600 in 0700', () => {
    const home = join(workDir, 'planted');
    const dir = join(home, '.latchkey');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ currentContext: 'one.test', contexts: [storedContext('one.test'), storedContext('two.test')] }), {
      mode: 0o600,
    });
    const victim = join(workDir, 'victim.txt');
    writeFileSync(victim, VICTIM_TEXT, { mode: 0o644 });

    const planted: string[] = [];
    const plant = (name: string) => {
      symlinkSync(victim, join(dir, name));
      planted.push(name);
    };
    plant('config.json.tmp');
    plant('config.json~');
    plant('.config.json.tmp');
    // The name the CLI used to write: `config.json.<its pid>.tmp`, for the next few hundred pids.
    const from = lastPid();
    for (let pid = from + 1; pid <= from + 400; pid++) plant(`config.json.${pid}.tmp`);

    const result = runLatchkey(home, ['context', 'use', 'two.test']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);

    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    expect(lstatSync(config).isFile()).toBe(true);
    const written = JSON.parse(readFileSync(config, 'utf8'));
    expect(written.currentContext).toBe('two.test');
    expect(written.contexts.map((context: { name: string }) => context.name)).toEqual(['one.test', 'two.test']);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // The planted links are still links (nothing of ours replaced or removed them) and no temp file is left.
    for (const name of planted) expect(lstatSync(join(dir, name)).isSymbolicLink(), name).toBe(true);
    expect(readdirSync(dir).filter((name) => !planted.includes(name))).toEqual(['config.json']);
  });

  it('replaces a symbolic link at config.json itself instead of writing through it', () => {
    const home = join(workDir, 'linked-config');
    const dir = join(home, '.latchkey');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const real = join(workDir, 'linked-config-source.json');
    writeFileSync(real, JSON.stringify({ currentContext: 'one.test', contexts: [storedContext('one.test'), storedContext('two.test')] }));
    const before = readFileSync(real, 'utf8');
    symlinkSync(real, join(dir, 'config.json'));

    const result = runLatchkey(home, ['context', 'use', 'two.test']);
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(real, 'utf8')).toBe(before);
    expect(lstatSync(join(dir, 'config.json')).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).currentContext).toBe('two.test');
    expect(statSync(join(dir, 'config.json')).mode & 0o777).toBe(0o600);
  });

  it('creates a missing config directory 0700 and the file 0600 under a permissive umask', async () => {
    const home = join(workDir, 'fresh');
    mkdirSync(home);
    const dir = join(home, '.latchkey');
    const token = generateToken().token;
    // A stand-in for the server's GET /api/v1/me: `context use URL` verifies the token there.
    const now = new Date().toISOString();
    const server = createServer((request, response) => {
      response.writeHead(request.url === '/api/v1/me' ? 200 : 404, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          account: { id: 'acc_1', email: 'dev@example.test', name: null, isAdmin: false, createdAt: now },
          authenticatedWith: 'token',
          token: {
            id: 'tok_1',
            name: 'laptop',
            state: 'active',
            displayToken: `lk_pat_1…${token.slice(-4)}`,
            last4: token.slice(-4),
            createdAt: now,
            expiresAt: now,
            lastUsedAt: null,
            lastUsedIp: null,
            revokedAt: null,
          },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await runLatchkeyAsync(home, ['context', 'use', url, '--token-stdin'], `${token}\n`);
      expect(result.code, result.stderr).toBe(0);
    } finally {
      server.close();
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'config.json')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).contexts[0]).toMatchObject({ token, tokenName: 'laptop' });
    expect(readdirSync(dir)).toEqual(['config.json']);
  });
});
