/**
 * @latchkey/verify against the real `latchkey-server` binary in another process, on SQLite and
 * on PostgreSQL (docs/security.md, item 56):
 *
 * - junk is refused offline; a valid token is accepted with its identity; scope, namespace and
 *   IP allowlist refusals follow the server's rules;
 * - revoke → refused: LATCHKEY_VERIFY_TRIALS trials (default 1,000) of a warm, cached token
 *   being revoked while it is verified without pause; every trial ends refused, and no
 *   verification that starts after the first refusal is accepted (the timings are printed; the
 *   bound itself is bench P11's, never asserted here);
 * - with the stream cut (connections destroyed, or silent), and across a server restart, no
 *   cached answer is trusted: a token revoked meanwhile is never accepted;
 * - the cache is bounded.
 */
import { performance } from 'node:perf_hooks';
import { generateToken } from '@latchkey/contract/token';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier, type VerifyResult } from '../src/index.js';
import { startCutProxy, type CutProxy } from './cut-proxy.js';
import { backendAvailable, sleep, startLatchkey, waitFor, type Backend, type Latchkey } from './support.js';

const TRIALS = Number(process.env.LATCHKEY_VERIFY_TRIALS) || 1_000;
/** Trials run on this many lanes at once, each strictly in order. */
const LANES = 4;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

describe.each<Backend>(['sqlite', 'postgres'])('@latchkey/verify against latchkey-server on %s', (backend) => {
  let latchkey: Latchkey | undefined;
  let serviceToken: string;
  let skipReason: string | undefined;
  const verifiers: Verifier[] = [];
  const proxies: CutProxy[] = [];

  beforeAll(async () => {
    if (!(await backendAvailable(backend))) {
      skipReason = 'PostgreSQL is not available';
      return;
    }
    latchkey = await startLatchkey(backend);
    serviceToken = (await latchkey.createToken({ name: 'service', scopes: ['introspect'] })).secret;
  }, 90_000);

  afterAll(async () => {
    for (const verifier of verifiers) await verifier.close();
    for (const proxy of proxies) await proxy.close();
    await latchkey?.close();
  }, 60_000);

  function ready(context: { skip(note?: string): void }): Latchkey {
    if (skipReason) context.skip(skipReason);
    return latchkey!;
  }

  /** A verifier on `url`, counting the requests it makes (the real fetch does the work). */
  function verifierOn(url: string, options: Partial<Parameters<typeof createVerifier>[0]> = {}) {
    const requests: string[] = [];
    const verifier = createVerifier({
      url,
      token: serviceToken,
      fetch: (input, init) => {
        requests.push(String(input));
        return fetch(input, init);
      },
      ...options,
    });
    verifiers.push(verifier);
    return { verifier, requests, introspections: () => requests.filter((url) => url.endsWith('/api/v1/introspect')).length };
  }

  it('refuses junk without a request, accepts a valid token with its identity, refuses an unknown one', async (context) => {
    const server = ready(context);
    const { verifier, introspections } = verifierOn(server.base);
    await verifier.ready();
    const token = await server.createToken({ name: 'plain', scopes: ['namespaces:read'] });

    const broken = token.secret.slice(0, -1) + (token.secret.endsWith('a') ? 'b' : 'a');
    for (const junk of ['', 'not-a-token', broken, `${token.secret}x`]) {
      expect(await verifier.verify(junk)).toEqual({ ok: false, code: 'INVALID_TOKEN' });
    }
    expect(introspections()).toBe(0);

    const result = await verifier.verify(token.secret);
    expect(result).toMatchObject({ ok: true, tokenId: token.id, scopes: ['namespaces:read'], namespaces: null });
    expect(result.ok && result.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(introspections()).toBe(1);
    // The stream is caught up: the second answer comes from the cache.
    expect(await verifier.verify(token.secret)).toEqual(result);
    expect(introspections()).toBe(1);

    expect(await verifier.verify(generateToken().token)).toEqual({ ok: false, code: 'INVALID_TOKEN' });
    expect(introspections()).toBe(2);
  });

  it('refuses a token without the demanded scope or namespace, or from outside its allowlist', async (context) => {
    const server = ready(context);
    const { verifier } = verifierOn(server.base);
    await verifier.ready();
    const preview = await server.createToken({ name: 'preview', scopes: ['namespaces:write'], namespaces: ['preview-*'] });

    expect(await verifier.verify(preview.secret, { scope: 'namespaces:read' })).toMatchObject({ ok: true });
    expect(await verifier.verify(preview.secret, { scope: 'namespaces:write', namespace: 'preview-42' })).toMatchObject({ ok: true, namespaces: ['preview-*'] });
    expect(await verifier.verify(preview.secret, { scope: 'tokens:read' })).toEqual({ ok: false, code: 'INSUFFICIENT_SCOPE', requiredScope: 'tokens:read' });
    expect(await verifier.verify(preview.secret, { scope: 'namespaces:write', namespace: 'prod' })).toEqual({
      ok: false,
      code: 'INSUFFICIENT_SCOPE',
      requiredScope: 'namespaces:write',
      namespace: 'prod',
    });
    expect(await verifier.verify(preview.secret, { namespace: 'prod' })).toEqual({ ok: false, code: 'INSUFFICIENT_SCOPE', namespace: 'prod' });
    // A demand the server would refuse as malformed is a bug in the caller, never a pass.
    await expect(verifier.verify(preview.secret, { scope: 'namespaces:delete' as never })).rejects.toThrow(TypeError);
    await expect(verifier.verify(preview.secret, { namespace: 'preview-*' })).rejects.toThrow(TypeError);

    const pinned = await server.createToken({ name: 'pinned', allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    expect(await verifier.verify(pinned.secret, { clientIp: '10.1.2.3' })).toMatchObject({ ok: true });
    expect(await verifier.verify(pinned.secret, { clientIp: '::ffff:10.1.2.3' })).toMatchObject({ ok: true });
    expect(await verifier.verify(pinned.secret, { clientIp: '2001:db8::1' })).toMatchObject({ ok: true });
    expect(await verifier.verify(pinned.secret, { clientIp: '192.0.2.1' })).toEqual({ ok: false, code: 'INVALID_TOKEN' });
    expect(await verifier.verify(pinned.secret)).toEqual({ ok: false, code: 'INVALID_TOKEN' });
  });

  it(`revoke → refused: ${TRIALS} trials, none accepted after the first refusal (item 56)`, async (context) => {
    const server = ready(context);
    const { verifier } = verifierOn(server.base);
    await verifier.ready();
    const delays: number[] = [];
    let staleAccepts = 0;
    let cachedBeforeRevoke = 0;

    const otherRefusals = new Set<string>();

    async function trial(index: number): Promise<void> {
      const token = await server.createToken({ name: `doomed-${index}` });
      expect(await verifier.verify(token.secret)).toMatchObject({ ok: true });
      const hits = verifier.stats().cacheHits;
      expect(await verifier.verify(token.secret)).toMatchObject({ ok: true });
      if (verifier.stats().cacheHits > hits) cachedBeforeRevoke++;

      // Verifications without pause (yielding to I/O between them) from before the revoke on.
      let revokedAt: number | undefined;
      let firstRefusalAt: number | undefined;
      let stop = false;
      const hammer = (async () => {
        while (!stop) {
          const started = performance.now();
          const result: VerifyResult = await verifier.verify(token.secret);
          if (result.ok) {
            if (firstRefusalAt !== undefined && started > firstRefusalAt) staleAccepts++;
          } else {
            if (result.code !== 'INVALID_TOKEN') otherRefusals.add(result.code);
            if (revokedAt !== undefined && firstRefusalAt === undefined) firstRefusalAt = performance.now();
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      try {
        await sleep(1);
        expect(await server.revoke(token.id)).toBe(204);
        revokedAt = performance.now();
        await waitFor(() => firstRefusalAt !== undefined, `trial refusal of ${token.id}`);
        // Go on a little past the refusal: any accept now would be stale.
        const until = performance.now() + 5;
        while (performance.now() < until) await sleep(1);
      } finally {
        stop = true;
        await hammer;
      }
      delays.push(Math.max(0, firstRefusalAt! - revokedAt));
      expect(await verifier.verify(token.secret)).toEqual({ ok: false, code: 'INVALID_TOKEN' });
    }

    const lanes = Array.from({ length: LANES }, (_, lane) =>
      (async () => {
        for (let index = lane; index < TRIALS; index += LANES) await trial(index);
      })(),
    );
    await Promise.all(lanes);

    const sorted = [...delays].sort((a, b) => a - b);
    process.stdout.write(
      `item 56 (${backend}): ${delays.length} trials, revoke 204 → first refusal p50 ${percentile(sorted, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; ${staleAccepts} stale accepts; ` +
        `${cachedBeforeRevoke} tokens answered from the cache before their revoke\n`,
    );
    expect(delays).toHaveLength(TRIALS);
    expect(staleAccepts).toBe(0);
    expect([...otherRefusals]).toEqual([]);
    // The trials exercised the cache (else they would prove nothing about it).
    expect(cachedBeforeRevoke).toBeGreaterThan(TRIALS / 2);
  }, 600_000);

  it("drops every cached token of an account when it is disabled", async (context) => {
    const server = ready(context);
    const { verifier } = verifierOn(server.base);
    await verifier.ready();
    const member = await server.signInAs(`member-${backend}@example.test`);
    const tokens = [await member.createToken({ name: 'one' }), await member.createToken({ name: 'two' })];
    for (const token of [...tokens, ...tokens]) expect(await verifier.verify(token.secret)).toMatchObject({ ok: true, accountId: member.accountId });
    const hits = verifier.stats().cacheHits;
    expect(hits).toBeGreaterThanOrEqual(2);

    expect(await server.disableAccount(member.accountId)).toBe(204);
    await waitFor(async () => !(await verifier.verify(tokens[0]!.secret)).ok, 'the disabled account to be refused');
    for (const token of tokens) expect(await verifier.verify(token.secret)).toEqual({ ok: false, code: 'INVALID_TOKEN' });
  });

  it('keeps accepting a token rotated with a grace period (its stream event is no revocation), and refuses one rotated without', async (context) => {
    const server = ready(context);
    const { verifier, introspections } = verifierOn(server.base);
    await verifier.ready();
    const old = await server.createToken({ name: 'rotated-with-grace' });
    await verifier.verify(old.secret);
    const asked = introspections();
    expect(await verifier.verify(old.secret)).toMatchObject({ ok: true, tokenId: old.id });
    expect(introspections()).toBe(asked);

    const replacement = await server.rotate(old.id, 3_600);
    // The rotation's event drops the cached answer: the verifier asks again, and the answer is yes.
    await waitFor(async () => {
      expect(await verifier.verify(old.secret)).toMatchObject({ ok: true, tokenId: old.id });
      return introspections() > asked;
    }, 'the rotation to reach the verifier');
    expect(await verifier.verify(replacement.secret)).toMatchObject({ ok: true, tokenId: replacement.id });

    const next = await server.rotate(replacement.id, 0);
    await waitFor(async () => !(await verifier.verify(replacement.secret)).ok, 'the replaced token to be refused');
    expect(await verifier.verify(next.secret)).toMatchObject({ ok: true, tokenId: next.id });
  });

  it('trusts no cached answer while the stream is cut, and none after it went silent', async (context) => {
    const server = ready(context);
    const proxy = await startCutProxy(server.server.port);
    proxies.push(proxy);
    const { verifier } = verifierOn(proxy.base, { streamTimeoutMs: 1_000, reconnectDelayMs: 100 });
    await verifier.ready();

    for (const how of ['cut', 'freeze'] as const) {
      const token = await server.createToken({ name: `${how}-doomed` });
      await verifier.verify(token.secret);
      const hits = verifier.stats().cacheHits;
      expect(await verifier.verify(token.secret)).toMatchObject({ ok: true });
      expect(verifier.stats().cacheHits).toBe(hits + 1);

      proxy[how]();
      await waitFor(() => !verifier.stats().synced, `the verifier to notice the ${how}`);
      // Revoked while the verifier cannot hear of it: the cached answer must not be used.
      expect(await server.revoke(token.id)).toBe(204);
      for (let attempt = 0; attempt < 20; attempt++) {
        expect(await verifier.verify(token.secret)).toEqual({ ok: false, code: 'INVALID_TOKEN' });
      }
      expect(verifier.stats().cacheHits).toBe(hits + 1);

      proxy.mend();
      await verifier.ready();
      expect(await verifier.verify(token.secret)).toEqual({ ok: false, code: 'INVALID_TOKEN' });
    }
    // Caught up again: answers come from the cache again.
    const fresh = await server.createToken({ name: 'after-the-cut' });
    await verifier.verify(fresh.secret);
    const hits = verifier.stats().cacheHits;
    expect(await verifier.verify(fresh.secret)).toMatchObject({ ok: true });
    expect(verifier.stats().cacheHits).toBe(hits + 1);
  }, 120_000);

  it('accepts no stale answer across a server restart during which the token was revoked', async (context) => {
    const server = ready(context);
    const { verifier } = verifierOn(server.base, { reconnectDelayMs: 100 });
    await verifier.ready();
    const token = await server.createToken({ name: 'restart-doomed' });
    const other = await server.createToken({ name: 'restart-survivor' });
    for (const secret of [token.secret, other.secret, token.secret, other.secret]) expect(await verifier.verify(secret)).toMatchObject({ ok: true });

    let accepted = 0;
    let answered = 0;
    let stop = false;
    let revoked = false;
    const hammer = (async () => {
      while (!stop) {
        const startedAfterRevoke = revoked;
        const result = await verifier.verify(token.secret);
        answered++;
        if (result.ok && startedAfterRevoke) accepted++;
        await sleep(2);
      }
    })();
    await server.stop();
    // Behind the verifier's back, as another instance would while this one is down.
    await server.revokeInDatabase(token.id);
    revoked = true;
    await sleep(300);
    await server.start();
    await verifier.ready();
    const afterReady = answered;
    await waitFor(() => answered > afterReady + 10, 'verifications after the restart');
    stop = true;
    await hammer;
    expect(accepted).toBe(0);
    expect(await verifier.verify(token.secret)).toEqual({ ok: false, code: 'INVALID_TOKEN' });
    expect(await verifier.verify(other.secret)).toMatchObject({ ok: true });
  }, 120_000);

  it('keeps at most cacheSize tokens', async (context) => {
    const server = ready(context);
    const { verifier, introspections } = verifierOn(server.base, { cacheSize: 5 });
    await verifier.ready();
    const tokens = await Promise.all(Array.from({ length: 12 }, (_, index) => server.createToken({ name: `bounded-${index}` })));
    for (const token of tokens) expect(await verifier.verify(token.secret)).toMatchObject({ ok: true });
    expect(verifier.stats()).toMatchObject({ cached: 5, capacity: 5 });
    // The five most recent are cached; the first was evicted and is asked again.
    const before = introspections();
    for (const token of tokens.slice(-5)) await verifier.verify(token.secret);
    expect(introspections()).toBe(before);
    await verifier.verify(tokens[0]!.secret);
    expect(introspections()).toBe(before + 1);
  });
});
