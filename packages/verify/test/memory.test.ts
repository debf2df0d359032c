/**
 * The verifier keeps no secret (docs/security.md, item 56): a process that verified a token
 * until it was cached, and still holds it in its cache, has no copy of the token anywhere in its
 * JavaScript heap once garbage is collected, while the heap does hold the token's SHA-256 (the
 * cache key; the control that the snapshot shows the cache at all).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { secretDigest } from '../src/index.js';
import { buildVerify, startLatchkey, type Latchkey } from './support.js';

let latchkey: Latchkey;
const directory = mkdtempSync(join(tmpdir(), 'latchkey-verify-heap-'));

beforeAll(async () => {
  buildVerify();
  latchkey = await startLatchkey('sqlite');
}, 120_000);

afterAll(async () => {
  await latchkey?.close();
  rmSync(directory, { recursive: true, force: true });
}, 30_000);

function probe(serviceToken: string, secret: string): Promise<{ first: boolean; second: boolean; cached: number; path: string }> {
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(new URL('./heap-probe.mjs', import.meta.url)), latchkey.base, serviceToken, directory], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  child.stdin.end(secret);
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`heap-probe exited with ${code}: ${errors}`)))),
  );
}

it('a verifier holding a token in its cache has no copy of it in its heap, only its SHA-256', async () => {
  const service = await latchkey.createToken({ name: 'heap-service', scopes: ['introspect'] });
  const token = await latchkey.createToken({ name: 'heap-token' });
  const result = await probe(service.secret, token.secret);
  expect(result).toMatchObject({ first: true, second: true, cached: 1 });
  const snapshot = readFileSync(result.path, 'latin1');
  expect(snapshot).toContain(secretDigest(token.secret));
  expect(snapshot).not.toContain(token.secret);
  expect(snapshot).not.toContain(token.secret.slice(8, 40));
}, 60_000);
