/**
 * `latchkey token rotate` on the built binary against a real `latchkey-server` (docs/security.md,
 * item 51): the token in use rotates itself and the stored context is rewritten with the new
 * one (the old secret then refused, or kept for the grace asked), printing no secret unless asked;
 * another token rotated by name prints its new secret once; a token from LATCHKEY_TOKEN (CI)
 * prints its replacement, there being no context to keep it in.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TOKEN_SHAPE } from '@latchkey/contract';
import { SYSTEM_ACTOR } from '../../server/src/audit/audit-event.js';
import { builtCliAgainstServer } from './support/built-cli.js';

describe('latchkey token rotate (built binary)', () => {
  const harness = builtCliAgainstServer();
  const homes = mkdtempSync(join(tmpdir(), 'latchkey-rotate-'));
  let count = 0;
  afterAll(() => rmSync(homes, { recursive: true, force: true }));

  /** Runs the binary in `home` with no token in the environment: the stored context is used. */
  const runIn = (home: string, args: string[]) => harness.run(args, '', { home });

  async function accountWithToken(name: string) {
    const account = await harness.services.accounts.create({ email: `${name}-${Date.now()}@example.test` }, SYSTEM_ACTOR);
    const { token, secret } = await harness.services.tokens.create(account.id, { name, scopes: ['namespaces:read', 'tokens:read', 'tokens:write'] }, SYSTEM_ACTOR);
    return { account, token, secret };
  }

  /** A HOME whose config has one current context holding `secret`. */
  function homeWithContext(secret: string, account: { id: string; email: string | null }): string {
    const home = join(homes, `home-${++count}`);
    mkdirSync(join(home, '.latchkey'), { recursive: true, mode: 0o700 });
    const config = {
      currentContext: 'work',
      contexts: [{ name: 'work', url: harness.baseUrl, account, token: secret, tokenName: 'laptop', tokenExpiresAt: null, namespace: null }],
    };
    writeFileSync(join(home, '.latchkey', 'config.json'), JSON.stringify(config), { mode: 0o600 });
    return home;
  }

  const storedToken = (home: string) => (JSON.parse(readFileSync(join(home, '.latchkey', 'config.json'), 'utf8')) as { contexts: Array<{ token: string; tokenExpiresAt: string }> }).contexts[0]!;

  it('rotates the token in use and rewrites its context atomically, printing no secret; the old one is refused at once', async () => {
    const { account, token, secret } = await accountWithToken('laptop');
    const home = homeWithContext(secret, account);
    const result = await runIn(home, ['token', 'rotate', '--expires-in-days', '30']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Rotated token "laptop" \(new id [0-9a-f-]{36}; expires .*\)\. The old secret no longer works\. Stored the new token in context "work"\.\n$/);
    const stored = storedToken(home);
    expect(stored.token).toMatch(TOKEN_SHAPE);
    expect(stored.token).not.toBe(secret);
    expect(result.stdout + result.stderr).not.toContain(stored.token);
    // Written by rename: mode 0600 and no temporary file left beside it.
    expect(statSync(join(home, '.latchkey', 'config.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(home, '.latchkey'))).toEqual(['config.json']);
    expect(Date.parse(stored.tokenExpiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);

    // The rewritten context works; the old secret is refused.
    const show = await runIn(home, ['token', 'show', '--output', 'json']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: 'laptop', rotatedFrom: token.id, state: 'active' });
    const old = await harness.run(['token', 'show'], secret);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/expired|replaced/i);
  });

  it('with --grace 1h keeps the old secret working; --print-secret prints the new one, which the context holds', async () => {
    const { account, secret } = await accountWithToken('laptop');
    const home = homeWithContext(secret, account);
    const result = await runIn(home, ['token', 'rotate', '--grace', '1h', '--print-secret']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${storedToken(home).token}\n`);
    expect(result.stderr).toContain('The old secret keeps working for 1h.');
    const old = await harness.run(['token', 'show', '--output', 'json'], secret);
    expect(old.code, old.stderr).toBe(0);
    expect(JSON.parse(old.stdout)).toMatchObject({ state: 'rotating', usesSinceRotation: expect.any(Number) });
    const shown = await harness.run(['token', 'show'], secret);
    expect(shown.stdout).toMatch(/^State: +rotating$/m);
    expect(shown.stdout).toMatch(/^Replaced by: +[0-9a-f-]{36} on /m);
    expect(shown.stdout).toMatch(/^Since rotation: +used \d+ times?/m);
  });

  it('rotates another token by name, printing its new secret once; a bad --grace is a usage error before any request', async () => {
    const { account, secret } = await accountWithToken('manager');
    await harness.services.tokens.create(account.id, { name: 'deploy', scopes: ['namespaces:read'] }, SYSTEM_ACTOR);
    const home = homeWithContext(secret, account);
    const result = await runIn(home, ['token', 'rotate', 'deploy']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${TOKEN_SHAPE.source.replace(/^\^|\$$/g, '')}\n$`));
    expect(storedToken(home).token).toBe(secret);
    const deploy = await harness.run(['token', 'show'], result.stdout.trim());
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toContain('deploy');
    // Rotated with a grace period, the old one keeps the name beside its replacement: the name
    // means the current one.
    const again = await runIn(home, ['token', 'rotate', 'deploy', '--grace', '1h']);
    expect(again.code, again.stderr).toBe(0);
    const twice = await runIn(home, ['token', 'rotate', 'deploy']);
    expect(twice.code, twice.stderr).toBe(0);
    expect((await harness.run(['token', 'show'], again.stdout.trim())).code).not.toBe(0);

    const bad = await runIn(home, ['token', 'rotate', '--grace', '2d']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--grace "2d"');
  });

  it('from LATCHKEY_TOKEN (a CI job) prints the replacement on stdout, there being no context to keep it', async () => {
    const { secret } = await accountWithToken('ci');
    const result = await harness.run(['token', 'rotate', '--grace', '10m'], secret);
    expect(result.code, result.stderr).toBe(0);
    const fresh = result.stdout.trim();
    expect(fresh).toMatch(TOKEN_SHAPE);
    const next = await harness.run(['token', 'rotate'], fresh);
    expect(next.code, next.stderr).toBe(0);
    // The first secret, replaced already, cannot rotate again.
    const again = await harness.run(['token', 'rotate'], secret);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already replaced/);
  });
});
