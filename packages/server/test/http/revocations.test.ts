/**
 * The revocation stream, `GET /api/v1/revocations` (docs/forward-auth.md), over a real listening
 * socket on both databases: revoked tokens, disabled and deleted accounts (and the tokens that
 * die with them) arrive as events; a client resumes with Last-Event-ID; one whose missed events
 * were pruned gets `reset`; on PostgreSQL a revoke through one instance reaches a stream on
 * another. The shared route suite checks the route's credentials and scope.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { bearer, createTestApp, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createTestPostgresDatabase, describeEachBackend } from '../support/databases.js';

interface Frame {
  event: string;
  id: string | undefined;
  data: Record<string, unknown>;
}

/** An open stream: frames as they arrive, read until a condition holds. */
async function openStream(app: TestApp, secret: string, lastEventId?: string) {
  const address = await listening(app);
  const controller = new AbortController();
  const response = await fetch(`${address}/api/v1/revocations`, {
    headers: { ...bearer(secret), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(response.headers.get('cache-control')).toBe('no-store');
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffer = '';
  let comments = 0;
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(':')) comments++;
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((line) => !line.startsWith(':') && line.includes(': '))
              .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]),
          );
          if (fields.event) frames.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? '{}') });
        }
      }
    } catch {
      // aborted
    }
  })();
  const until = async (condition: (frames: Frame[]) => boolean): Promise<Frame[]> => {
    while (!condition(frames)) await new Promise((resolve) => setTimeout(resolve, 10));
    return frames;
  };
  await until((seen) => seen.some((frame) => frame.event === 'ready'));
  const close = async () => {
    controller.abort();
    await pump;
  };
  streams.push(close);
  return { frames, until, close, comments: () => comments };
}

const listened = new WeakMap<TestApp, string>();
async function listening(app: TestApp): Promise<string> {
  let address = listened.get(app);
  if (!address) {
    address = await app.http.listen({ port: 0, host: '127.0.0.1' });
    listened.set(app, address);
  }
  return address;
}

const streams: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of streams.splice(0)) await close();
});

const revoked = (frames: Frame[], kind: string, id: string) =>
  frames.some((frame) => frame.event === 'revoked' && frame.data.kind === kind && frame.data.id === id);

describeEachBackend('the revocation stream (GET /api/v1/revocations)', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  let service: string;
  signedInAppForEachTest(ctx, async (fresh) => {
    ({ app, session } = fresh);
    service = (await app.createToken(session, 'verifier', { scopes: ['introspect'] })).secret;
  });

  it('sends an event for a revoked token, a disabled account, and a deleted account with its tokens', async () => {
    const stream = await openStream(app, service);
    const { token } = await app.createToken(session, 'doomed');
    expect((await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: session.headers })).statusCode).toBe(204);
    await stream.until((frames) => revoked(frames, 'token', token.id));

    const other = await app.signIn();
    const { token: theirs } = await app.createToken(other, 'theirs');
    await app.services.accounts.disable(other.account.id, SYSTEM_ACTOR);
    await stream.until((frames) => revoked(frames, 'account', other.account.id));
    await app.services.accounts.delete(other.account.id, SYSTEM_ACTOR);
    await stream.until((frames) => revoked(frames, 'token', theirs.id) && frames.filter((frame) => frame.data.id === other.account.id).length === 2);

    const event = stream.frames.find((frame) => frame.data.id === token.id)!;
    expect(event.data).toEqual({ kind: 'token', id: token.id, seq: expect.any(Number), occurredAt: expect.stringMatching(/^\d{4}-/) });
    expect(JSON.stringify(stream.frames)).not.toContain('lk_pat_1');
  });

  it('resumes after Last-Event-ID with what it missed, and resets a client whose missed events were pruned', async () => {
    const first = await openStream(app, service);
    const ready = first.frames.find((frame) => frame.event === 'ready')!;
    await first.close();
    const missed = [await app.createToken(session, 'a'), await app.createToken(session, 'b')];
    for (const { token } of missed) {
      await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: session.headers });
    }
    const resumed = await openStream(app, service, ready.id);
    for (const { token } of missed) expect(revoked(resumed.frames, 'token', token.id), token.name).toBe(true);
    expect(resumed.frames.some((frame) => frame.event === 'reset')).toBe(false);
    await resumed.close();

    // The feed keeps what it keeps; a client from before all of it starts over.
    await ctx.exec(sql`delete from revocation_events`);
    const { token: later } = await app.createToken(session, 'later');
    await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${later.id}`, headers: session.headers });
    const stale = await openStream(app, service, ready.id);
    expect(stale.frames.map((frame) => frame.event)).toContain('reset');
  });

  it('starts with nothing old when no Last-Event-ID is given', async () => {
    const { token } = await app.createToken(session, 'old');
    await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: session.headers });
    const stream = await openStream(app, service);
    expect(stream.frames.filter((frame) => frame.event === 'revoked')).toEqual([]);
  });

  if (ctx.dialect === 'postgres') {
    it('a revoke through another instance (its own connections) reaches this instance’s stream', async () => {
      // Two instances as deployed: each its own pool and listening connection, one database.
      const shared = await createTestPostgresDatabase();
      const [databaseA, databaseB] = [openDatabase(shared.url), openDatabase(shared.url)];
      try {
        await databaseA.migrate();
        const [a, b] = [await createTestApp(databaseA), await createTestApp(databaseB)];
        try {
          const owner = await a.signIn();
          const { secret: verifier } = await a.createToken(owner, 'verifier', { scopes: ['introspect'] });
          const stream = await openStream(b, verifier);
          const { token } = await a.createToken(owner, 'elsewhere');
          expect((await a.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: owner.headers })).statusCode).toBe(204);
          await stream.until((frames) => revoked(frames, 'token', token.id));
          await stream.close();
        } finally {
          await a.close();
          await b.close();
        }
      } finally {
        await databaseA.close();
        await databaseB.close();
        await shared.drop();
      }
    });
  }
});

describe('keep-alive', () => {
  it('an idle stream sends comment lines', async () => {
    const database = openDatabase('sqlite::memory:');
    await database.migrate();
    const app = await createTestApp(database, { revocationHeartbeatMs: 20 });
    try {
      const session = await app.signIn();
      const { secret } = await app.createToken(session, 'v', { scopes: ['introspect'] });
      const stream = await openStream(app, secret);
      while (stream.comments() < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      await stream.close();
    } finally {
      await app.close();
      await database.close();
    }
  });
});
