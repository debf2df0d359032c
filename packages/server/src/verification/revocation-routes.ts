/**
 * `GET /api/v1/revocations`: the revocation feed as Server-Sent Events, for a service holding
 * `introspect` that keeps verified tokens in a cache (docs/forward-auth.md). Each event names a
 * token that stopped working or an account disabled or deleted, from every instance. A client
 * resumes with `Last-Event-ID`; one too far behind (the events it missed were pruned) gets a
 * `reset` event and must drop its cache. A comment line every few seconds keeps the connection
 * (and the client's watchdog) alive.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { z } from 'zod';
import { tokenPrincipalOf } from '../http/principal.js';
import type { ZodApp } from '../http/zod-app.js';
import type { RevocationEvent, RevocationFeed } from './revocation-feed.js';

/** How often an idle stream says it is alive. */
export const HEARTBEAT_MS = 15_000;

const revocationsQuery = z.object({
  after: z.coerce.number().int().min(0).optional().describe('Resume after this event id (as Last-Event-ID does).'),
});

function frame(event: string, id: number, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

function revokedFrame(event: RevocationEvent, floor: number): string {
  return frame('revoked', floor, { kind: event.kind, id: event.subjectId, seq: event.seq, occurredAt: new Date(event.occurredAt).toISOString() });
}

export function registerRevocationRoutes(app: ZodApp, { feed, heartbeatMs = HEARTBEAT_MS }: { feed: RevocationFeed; heartbeatMs?: number }): void {
  const open = new Set<ServerResponse>();
  // Streams never end by themselves: end them when the server closes, before it waits for them.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.end();
  });

  app.get(
    '/api/v1/revocations',
    {
      config: { auth: 'token', scope: 'introspect' },
      schema: {
        summary: 'Server-Sent Events: every token revoked and account disabled or deleted, from every instance',
        tags: ['verification'],
        querystring: revocationsQuery,
      },
    },
    async (request, reply) => {
      tokenPrincipalOf(request);
      const header = request.headers['last-event-id'];
      const fromHeader = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
      const after = fromHeader ?? request.query.after;

      // What the hooks set (latchkey-token-expires-at …) goes out with the stream's own head.
      const hooked = reply.getHeaders() as OutgoingHttpHeaders;
      reply.hijack();
      const stream = reply.raw;
      stream.writeHead(200, {
        ...hooked,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-request-id': request.id,
        // nginx: pass each event on at once.
        'x-accel-buffering': 'no',
      });
      open.add(stream);
      const write = (text: string) => {
        if (!stream.writableEnded) stream.write(text);
      };
      let followed: Awaited<ReturnType<RevocationFeed['follow']>> | undefined;
      const heartbeat = setInterval(() => write(': keepalive\n\n'), heartbeatMs);
      const end = () => {
        clearInterval(heartbeat);
        followed?.stop();
        open.delete(stream);
        if (!stream.writableEnded) stream.end();
      };
      request.raw.on('close', end);
      stream.on('close', end);
      try {
        followed = await feed.follow(after, (events, floor) => {
          for (const event of events) write(revokedFrame(event, floor));
        });
      } catch (error) {
        request.log.warn({ err: error }, 'revocation stream could not start');
        end();
        return;
      }
      write(`retry: 1000\n\n`);
      if (followed.reset) write(frame('reset', followed.floor, {}));
      for (const event of followed.replay) write(revokedFrame(event, followed.floor));
      write(frame('ready', followed.floor, {}));
      if (stream.writableEnded) followed.stop();
    },
  );
}
