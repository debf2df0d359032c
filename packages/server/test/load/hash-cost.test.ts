/**
 * The hash-cost guard (docs/security.md, item 27): the hashing step of token verification —
 * `hashToken`, which `tokens/token-service.ts` applies to every presented token before the lookup —
 * costs about what one plain SHA-256 of the token costs (about 1 µs; bcrypt or argon2 at any
 * sane cost take milliseconds, so swapping one in fails here by orders of magnitude).
 *
 * The guard is a ratio measured in the same run, interleaved: a busy machine slows both sides
 * alike, so it cannot fail the test (the absolute ≤ 50 µs figure is printed, and asserted in
 * LATCHKEY_LONG runs, which have the machine to themselves).
 *
 * And statically: no module on the authentication hot path (everything `http/authenticate.ts`
 * imports, transitively, plus the contract's token codec) imports or calls a password hash
 * (bcrypt, argon2, scrypt, PBKDF2). That catches a slow hash put in next to `hashToken` too.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashToken } from '@latchkey/contract/token';
import { describe, expect, it } from 'vitest';
import { unknownTokens } from './harness.mjs';

const LONG = process.env.LATCHKEY_LONG === '1';
const CALLS = 100_000;
const BUDGET_MICROSECONDS = 50;
/** hashToken against one plain SHA-256 of the same token: a password hash is thousands of times more. */
const MAX_RATIO_TO_PLAIN_SHA256 = 20;
const ROUNDS = 10;
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const serverSource = join(root, 'packages/server/src');
const contractSource = join(root, 'packages/contract/src');

// docs/security.md, item 27
describe('verification hashes cheaply (hash-cost guard)', () => {
  it(`hashToken costs at most ${MAX_RATIO_TO_PLAIN_SHA256}× one plain SHA-256 of the token (${CALLS.toLocaleString('en')} calls each, interleaved)`, () => {
    const tokens = unknownTokens(1_000);
    // The digest must depend on the token: a constant-time fake would pass the timing alone.
    expect(hashToken(tokens[0]!).equals(hashToken(tokens[1]!))).toBe(false);
    expect(hashToken(tokens[0]!).equals(hashToken(tokens[0]!))).toBe(true);

    let sink = 0;
    const plainSha256 = (token: string) => createHash('sha256').update(token, 'latin1').digest();
    const timeOf = (hash: (token: string) => Buffer, calls: number): number => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) sink ^= hash(tokens[i % tokens.length]!)[0]!;
      return Number(process.hrtime.bigint() - started);
    };
    timeOf(hashToken, 10_000); // warm-up (JIT)
    timeOf(plainSha256, 10_000);
    // Interleaved rounds; the fastest round of each side is the one least disturbed by the machine.
    const perCall = { hashToken: Number.POSITIVE_INFINITY, plain: Number.POSITIVE_INFINITY };
    let hashTokenTotal = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const ns = timeOf(hashToken, CALLS / ROUNDS);
      hashTokenTotal += ns;
      perCall.hashToken = Math.min(perCall.hashToken, ns / (CALLS / ROUNDS));
      perCall.plain = Math.min(perCall.plain, timeOf(plainSha256, CALLS / ROUNDS) / (CALLS / ROUNDS));
    }
    const averageMicroseconds = hashTokenTotal / 1_000 / CALLS;
    const ratio = perCall.hashToken / perCall.plain;
    process.stdout.write(
      `hash cost (item 27): hashToken ${averageMicroseconds.toFixed(2)} µs per call on average (${CALLS} calls), ` +
        `${ratio.toFixed(2)}× a plain SHA-256 (best rounds; sink ${sink})\n`,
    );
    expect(ratio).toBeLessThanOrEqual(MAX_RATIO_TO_PLAIN_SHA256);
    if (LONG) expect(averageMicroseconds).toBeLessThanOrEqual(BUDGET_MICROSECONDS);
  });

  it('verification hashes with hashToken: the token service looks tokens up by exactly that digest', () => {
    const tokens = readFileSync(join(serverSource, 'tokens/token-service.ts'), 'utf8');
    expect(tokens).toMatch(/from '@latchkey\/contract\/token'/);
    expect(tokens).toMatch(/const digest = hashToken\(presented\);/);
    expect(tokens).toMatch(/findTokenForAuth\(digest\)/);
    const codec = readFileSync(join(contractSource, 'token.ts'), 'utf8');
    expect(codec).toMatch(/return sha256\(token, 'latin1'\);/);
    const secrets = readFileSync(join(contractSource, 'secrets.ts'), 'utf8');
    expect(secrets).toMatch(/createHash\('sha256'\)/);
  });

  it('no module on the authentication hot path imports or calls bcrypt, argon2, scrypt or PBKDF2', () => {
    const files = hotPathModules(join(serverSource, 'http/authenticate.ts'));
    // The control: the walk really reaches the verification code and the token codec.
    expect(files).toContain(join(serverSource, 'tokens/token-service.ts'));
    expect(files).toContain(join(contractSource, 'token.ts'));
    expect(files).toContain(join(contractSource, 'secrets.ts'));
    const offenders: string[] = [];
    for (const file of files) {
      const code = stripComments(readFileSync(file, 'utf8'));
      for (const match of code.matchAll(/\b(bcrypt\w*|argon2\w*|scrypt\w*|pbkdf2\w*)\b/gi)) {
        offenders.push(`${file.slice(root.length)}: ${match[0]}`);
      }
    }
    expect(offenders).toEqual([]);
    // And none of them is a dependency at all.
    for (const manifest of ['packages/server/package.json', 'packages/contract/package.json', 'package.json']) {
      const text = readFileSync(join(root, manifest), 'utf8');
      expect(text, manifest).not.toMatch(/"(@node-rs\/)?(bcrypt|bcryptjs|argon2|scrypt-js|pbkdf2)"/);
    }
  });
});

/**
 * The module graph from `entry` over relative imports and the `@latchkey/contract` aliases
 * (type-only imports included: cheap to include, and never wrong to keep hashes out of).
 */
function hotPathModules(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = stripComments(readFileSync(file, 'utf8'));
    for (const [, specifier] of code.matchAll(/(?:import|export)\s[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
      if (!specifier) continue;
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (specifier === '@latchkey/contract') pending.push(join(contractSource, 'index.ts'));
      else if (specifier.startsWith('@latchkey/contract/')) {
        pending.push(join(contractSource, `${specifier.slice('@latchkey/contract/'.length)}.ts`));
      }
    }
  }
  return [...seen];
}

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}
