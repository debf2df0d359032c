/**
 * The hash-cost guard (docs/security.md, item 27): the hashing step of token verification —
 * `hashToken`, which `tokens/token-service.ts` applies to every presented token before the lookup —
 * averages ≤ 50 µs over 100,000 calls (SHA-256 takes about 1 µs; bcrypt or argon2 at any sane
 * cost take milliseconds, so swapping one in fails here by orders of magnitude).
 *
 * And statically: no module on the authentication hot path (everything `http/authenticate.ts`
 * imports, transitively, plus the contract's token codec) imports or calls a password hash
 * (bcrypt, argon2, scrypt, PBKDF2). That catches a slow hash put in next to `hashToken` too.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashToken } from '@latchkey/contract/token';
import { describe, expect, it } from 'vitest';
import { unknownTokens } from './harness.mjs';

const CALLS = 100_000;
const BUDGET_MICROSECONDS = 50;
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const serverSource = join(root, 'packages/server/src');
const contractSource = join(root, 'packages/contract/src');

// docs/security.md, item 27
describe('verification hashes cheaply (hash-cost guard)', () => {
  it(`hashToken averages ≤ ${BUDGET_MICROSECONDS} µs over ${CALLS.toLocaleString('en')} calls`, () => {
    const tokens = unknownTokens(1_000);
    // The digest must depend on the token: a constant-time fake would pass the timing alone.
    expect(hashToken(tokens[0]!).equals(hashToken(tokens[1]!))).toBe(false);
    expect(hashToken(tokens[0]!).equals(hashToken(tokens[0]!))).toBe(true);

    let sink = 0;
    for (let i = 0; i < 10_000; i++) sink ^= hashToken(tokens[i % tokens.length]!)[0]!; // warm-up (JIT)
    const started = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink ^= hashToken(tokens[i % tokens.length]!)[0]!;
    const averageMicroseconds = Number(process.hrtime.bigint() - started) / 1_000 / CALLS;
    process.stdout.write(`hash cost (item 27): hashToken ${averageMicroseconds.toFixed(2)} µs per call (${CALLS} calls; sink ${sink})\n`);
    expect(averageMicroseconds).toBeLessThanOrEqual(BUDGET_MICROSECONDS);
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
