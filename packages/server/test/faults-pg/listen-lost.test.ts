/**
 * docs/security.md, item 18: the cache-invalidation channel is lost. On PostgreSQL the server keeps
 * no verification cache (every bearer request reads the database), so there is no LISTEN
 * connection to lose and the item is the no-op that must still pass: its nearest equivalent is
 * run instead. Instance B's database connections are all killed (`pg_terminate_backend`), a
 * token is revoked through A while B reconnects, and B must refuse it at once — never accept it,
 * never answer 500 — and serve again on fresh connections.
 *
 * Each instance names itself to PostgreSQL through `application_name` in its DATABASE_URL (a
 * standard libpq parameter node-postgres passes on), which is how B's connections are found.
 * Two `latchkey-server` processes on a throw-away database of the test PostgreSQL.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  createToken,
  issueSignInPath,
  randomTestNetAddress,
  revokeToken,
  signIn,
  sleep,
} from '../scale/support.js';
import type { ServerProcess } from '../support/server-process.mjs';
import { serversOnPostgres } from '../support/servers-on-postgres.js';

const LONG = process.env.LATCHKEY_LONG === '1';
const ROUNDS = LONG ? 200 : 20;
const PUBLIC_URL = 'http://latchkey.localhost';
/** The item's bound for a cache; with none, B must refuse on its first answer that is not 503. */
const REFUSAL_BOUND_MS = 5_000;
/**
 * How long B may keep answering R-UNAVAIL while it reconnects. Reconnecting is a timing, so the
 * item's bound holds in LATCHKEY_LONG runs; npm test asks only that B decides, and refuses.
 */
const DECIDED_WITHIN_MS = LONG ? REFUSAL_BOUND_MS : 60_000;
const BACKGROUND_RATE = 50;
const R_INVALID = 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"';

const ready = serversOnPostgres(async ({ url, db: admin, start }) => {
  const named = (name: string) => {
    const withName = new URL(url);
    withName.searchParams.set('application_name', name);
    return withName.toString();
  };
  const env = { PUBLIC_URL, TRUST_PROXY: '127.0.0.1', TOKEN_MAX_PER_ACCOUNT: '10000' };
  const a = await start({ name: 'A', env: { ...env, DATABASE_URL: named('latchkey-a') } });
  const b = await start({ name: 'B', env: { ...env, DATABASE_URL: named('latchkey-b') } });
  const session = await signIn(a.base, a.signInPath ?? issueSignInPath({ ...env, DATABASE_URL: url }));
  return { a, b, session, admin };
});

interface Answer {
  status: number;
  wwwAuthenticate: string | null;
  retryAfter: string | null;
}

async function use(instance: ServerProcess, secret: string): Promise<Answer> {
  const response = await fetch(`${instance.base}/api/v1/me`, {
    headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': randomTestNetAddress() },
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    retryAfter: response.headers.get('retry-after'),
  };
}

/** Terminates every backend B holds on this database; returns how many there were. */
async function terminateConnectionsOf(admin: pg.Client, applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ terminated: boolean }>(
    `select pg_terminate_backend(pid) as terminated from pg_stat_activity
      where datname = current_database() and application_name = $1 and pid <> pg_backend_pid()`,
    [applicationName],
  );
  return rows.filter((row) => row.terminated).length;
}

// docs/security.md, item 18 (no cache on PostgreSQL: the no-op form that must still pass)
describe('an instance that loses its database connections still refuses a token revoked elsewhere', () => {
  it(`a token revoked on A while B reconnects is refused by B at once (${ROUNDS} rounds), and B serves again`, async (context) => {
    const { a, b, session, admin } = ready(context);

    const control = await createToken(a.base, session, PUBLIC_URL, 'control');
    // Background traffic on B with a live token, so connections are in use, not only idle, when
    // they are killed.
    const background: Record<string, number> = {};
    let stopBackground = false;
    const backgroundLoad = (async () => {
      const pending = new Set<Promise<void>>();
      const t0 = performance.now();
      for (let index = 0; !stopBackground; index++) {
        const wait = t0 + (index * 1000) / BACKGROUND_RATE - performance.now();
        if (wait > 1) await sleep(wait);
        const request: Promise<void> = use(b, control.secret)
          .then(
            (answer) => String(answer.status),
            (error: unknown) => `error ${(error as Error).message}`,
          )
          .then((key) => void (background[key] = (background[key] ?? 0) + 1))
          .finally(() => pending.delete(request));
        pending.add(request);
      }
      await Promise.all(pending);
    })();

    const violations: string[] = [];
    const firstAnswers: Record<string, number> = {};
    let terminated = 0;
    let slowest = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const token = await createToken(a.base, session, PUBLIC_URL, `victim-${round}`);
        const before = await use(b, token.secret);
        if (before.status !== 200) violations.push(`round ${round}: B before → ${before.status}`);

        const killed = await terminateConnectionsOf(admin, 'latchkey-b');
        terminated += killed;
        if (killed === 0) violations.push(`round ${round}: B had no connection to kill`);
        const revoked = await revokeToken(a.base, session, PUBLIC_URL, token.id);
        const acknowledged = performance.now();
        if (revoked !== 204) violations.push(`round ${round}: DELETE on A → ${revoked}`);

        // Straight after the 204: B must refuse. An R-UNAVAIL (the request met a connection that
        // had just been killed) is no acceptance; B is asked again until it decides.
        for (let attempt = 0; ; attempt++) {
          const after = await use(b, token.secret);
          const key = attempt === 0 ? `${after.status}` : `${after.status} (attempt ${attempt + 1})`;
          firstAnswers[key] = (firstAnswers[key] ?? 0) + 1;
          const elapsed = performance.now() - acknowledged;
          if (after.status === 503 && /^\d+$/.test(after.retryAfter ?? '') && elapsed < DECIDED_WITHIN_MS) continue;
          slowest = Math.max(slowest, elapsed);
          if (after.status !== 401 || after.wwwAuthenticate !== R_INVALID) {
            violations.push(`round ${round}: B after the 204 → ${after.status} ${after.wwwAuthenticate} (${elapsed.toFixed(0)} ms)`);
          }
          break;
        }
        const onA = await use(a, token.secret);
        if (onA.status !== 401 || onA.wwwAuthenticate !== R_INVALID) violations.push(`round ${round}: A after → ${onA.status}`);
      }
    } finally {
      stopBackground = true;
      await backgroundLoad;
    }
    // B serves on fresh connections, and said it had lost the old ones.
    const recovered = await use(b, control.secret);
    const lostLogged = (b.output().match(/database connection lost; will reconnect/g) ?? []).length;

    process.stdout.write(
      `lost database connections (item 18): ${ROUNDS} rounds, ${terminated} B connections terminated; B's answers right after A's 204: ${JSON.stringify(firstAnswers)}; ` +
        `slowest refusal ${slowest.toFixed(0)} ms after the 204; background on B (${BACKGROUND_RATE}/s, live token): ${JSON.stringify(background)}; ` +
        `B logged ${lostLogged} lost connections\n`,
    );
    expect(violations).toEqual([]);
    if (LONG) expect(slowest).toBeLessThan(REFUSAL_BOUND_MS);
    expect(recovered.status).toBe(200);
    // A live token on B is served or, when its request met a killed connection, R-UNAVAIL:
    // never refused, never a 500.
    expect(Object.keys(background).filter((status) => status !== '200' && status !== '503')).toEqual([]);
    expect(background['200']).toBeGreaterThan(0);
    expect(lostLogged).toBeGreaterThan(0);
  }, LONG ? 600_000 : 240_000);
});
