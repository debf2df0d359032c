/**
 * The NDJSON audit export at scale, on both databases (docs/security.md, item 49; docs/api.md,
 * "Audit trail"): 100,000 events stream over a real socket, newest first, one JSON object a line,
 * while the test's memory stays bounded. The export is read a batch at a time (the service's
 * page size), so the server issues many batch queries and the first line arrives before the last
 * of them runs; a buffered export would hold every event (and the client would receive nothing
 * until the end). No timing is asserted: the machine may be slow.
 */
import type { AddressInfo } from 'node:net';
import type { AdminAuditEventView } from '@latchkey/contract';
import { expect, it } from 'vitest';
import { rawKysely } from '../../src/database/database.js';
import { bearer, createTestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const EVENTS = 100_000;
const INSERT_ROWS = 1_000;
const RSS_SAMPLE_EVERY = 5_000;
/** Generous: a buffered export of this size is the only way past it. */
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024;
const MB = 1024 * 1024;

/** A UUID-shaped id whose order follows `index`. */
const eventId = (index: number) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
/** The seeded events' actor: the export is asked for theirs alone, so it answers exactly EVENTS lines. */
const ACTOR = '11111111-1111-4111-8111-111111111111';

describeEachBackend('audit export of 100,000 events', (ctx) => {
  it(
    'streams every event newest first over a socket, a batch query at a time, with bounded memory',
    async () => {
      // Seed with raw multi-row inserts in one transaction; occurred_at grows with seq.
      const base = Date.now() - EVENTS - 60_000;
      await rawKysely(ctx.database)
        .transaction()
        .execute(async (trx) => {
          for (let start = 0; start < EVENTS; start += INSERT_ROWS) {
            const rows = [];
            for (let index = start; index < Math.min(start + INSERT_ROWS, EVENTS); index++) {
              rows.push({
                id: eventId(index),
                occurred_at: base + index,
                action: index % 2 === 0 ? 'namespace.created' : 'namespace.deleted',
                actor_account_id: ACTOR,
                actor_token_id: null,
                actor_ip: '10.0.0.1',
                target_id: `target-${index}`,
                detail: JSON.stringify({ name: `ns-${index}` }),
              });
            }
            // Bound parameters, a multi-row insert at a time (8 per row: well under either database's limit).
            await trx.insertInto('audit_events').values(rows).execute();
          }
        });

      const app = await createTestApp(ctx.database);
      try {
        const admin = await app.signIn({ isAdmin: true, email: 'export-admin@example.test' });
        const { secret } = await app.createToken(admin, 'export', { scopes: ['admin:read'] });
        await app.http.listen({ port: 0, host: '127.0.0.1' });
        const url = `http://127.0.0.1:${(app.http.server.address() as AddressInfo).port}/api/v1/admin/audit?actor=${ACTOR}`;

        const batchQueries = () =>
          ctx.queries.filter((query) => /from "audit_events"/i.test(query.sql) && /order by "seq" desc/i.test(query.sql)).length;
        const batchesBefore = batchQueries();

        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sample = () => {
          peak = Math.max(peak, process.memoryUsage().rss);
        };

        const response = await fetch(url, { headers: { ...bearer(secret), accept: 'application/x-ndjson' } });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);

        let lines = 0;
        let previous: { occurredAt: string; id: string } | undefined;
        let batchesAtFirstLine: number | undefined;
        let pending = '';
        const decoder = new TextDecoder();
        const handle = (line: string) => {
          const event = JSON.parse(line) as AdminAuditEventView;
          if (lines === 0) batchesAtFirstLine = batchQueries() - batchesBefore;
          // Newest first: seeded oldest first, with growing times and ids.
          if (event.id !== eventId(EVENTS - 1 - lines)) throw new Error(`line ${lines + 1} is ${event.id}, not ${eventId(EVENTS - 1 - lines)}`);
          if (previous !== undefined && event.occurredAt > previous.occurredAt) throw new Error(`line ${lines + 1} is newer than the one before it`);
          previous = { occurredAt: event.occurredAt, id: event.id };
          lines++;
          if (lines % RSS_SAMPLE_EVERY === 0) sample();
        };
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          pending += decoder.decode(chunk, { stream: true });
          let newline = pending.indexOf('\n');
          while (newline !== -1) {
            handle(pending.slice(0, newline));
            pending = pending.slice(newline + 1);
            newline = pending.indexOf('\n');
          }
        }
        pending += decoder.decode();
        expect(pending).toBe('');
        sample();

        const batches = batchQueries() - batchesBefore;
        const growth = peak - baseline;
        process.stdout.write(
          `[${ctx.dialect}] audit export: ${lines} lines, ${batches} batch queries (first line after ${batchesAtFirstLine}); ` +
            `RSS baseline ${(baseline / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB, growth ${(growth / MB).toFixed(1)} MB\n`,
        );

        expect(lines).toBe(EVENTS);
        expect(previous?.id).toBe(eventId(0));
        // Read a page at a time: 100,000 events at 500 a query is at least 200 queries, and the
        // first line was on the socket before the last of them ran (how far the server ran ahead
        // depends on the socket's and the streams' buffers, so only that is asserted).
        expect(batches).toBeGreaterThanOrEqual(EVENTS / 500);
        expect(batchesAtFirstLine).toBeDefined();
        expect(batchesAtFirstLine!).toBeLessThan(batches);
        expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
      } finally {
        await app.close();
      }
    },
    600_000,
  );
});
