/**
 * The P2 peer (docs/performance.md, P2): better-auth 1.7.5 with its API-key plugin
 * (@better-auth/api-key 1.7.5) on better-sqlite3 12 in WAL mode, its per-key rate limit switched
 * off.
 *
 * Started by bench/run.mjs with child_process.fork (an IPC channel), in one of two modes:
 *
 *   node peer.mjs setup <db-path> <keys>   migrate better-auth's schema, create one user and
 *                                          <keys> API keys through better-auth's own API, send
 *                                          the keys to the parent over IPC (never to a file), exit
 *   node peer.mjs serve <db-path>          serve GET /verify on 127.0.0.1:0: the bearer key is
 *                                          checked with auth.api.verifyApiKey in-process (better-auth
 *                                          does not expose verify over HTTP); sends {port} over IPC
 */
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { apiKey } from '@better-auth/api-key';

const [mode, path, count] = process.argv.slice(2);
if (!process.send || !path || (mode !== 'setup' && mode !== 'serve')) {
  process.stderr.write('usage (from bench/run.mjs, with an IPC channel): peer.mjs setup|serve <db-path> [keys]\n');
  process.exit(2);
}

const database = new Database(path);
database.pragma('journal_mode = WAL'); // synchronous stays SQLite's default, FULL, as latchkey's

const auth = betterAuth({
  database,
  baseURL: 'http://127.0.0.1',
  secret: 'latchkey-bench-peer-secret-not-used-for-anything-real-0123456789',
  telemetry: { enabled: false },
  logger: { disabled: true },
  emailAndPassword: { enabled: true },
  // The plugin's default per-key limit (10 requests a day) would measure the limiter, not verify.
  plugins: [apiKey({ rateLimit: { enabled: false } })],
});

if (mode === 'setup') {
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
  const { user } = await auth.api.signUpEmail({
    body: { email: 'bench@example.test', password: 'bench-password-0123456789', name: 'bench' },
  });
  const keys = [];
  for (let index = 0; index < Number(count ?? 100); index++) {
    const created = await auth.api.createApiKey({ body: { userId: user.id, name: `bench ${index}` } });
    keys.push(created.key);
  }
  // Sanity: the plugin's verify accepts a key many times in a row (rate limit really off).
  for (let index = 0; index < 20; index++) {
    const result = await auth.api.verifyApiKey({ body: { key: keys[0] } });
    if (!result.valid) throw new Error(`better-auth refused a fresh key: ${JSON.stringify(result.error)}`);
  }
  process.send({ keys }, () => {
    database.close();
    process.exit(0);
  });
} else {
  const app = Fastify({ logger: false });
  app.get('/verify', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const key = header.startsWith('Bearer ') ? header.slice(7) : '';
    const result = await auth.api.verifyApiKey({ body: { key } });
    if (!result.valid) return reply.code(401).send({ valid: false });
    return { valid: true, userId: result.key.referenceId ?? result.key.userId };
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send({ port: app.server.address().port });
  const stop = () => app.close().then(() => { database.close(); process.exit(0); });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}
