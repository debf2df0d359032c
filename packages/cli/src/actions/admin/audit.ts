import { NDJSON_MEDIA_TYPE, adminAccountSchema, adminAuditListSchema, type AdminAuditEventView } from '@latchkey/contract';
import { UsageError } from '../../cli-errors.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { accountLabel, formatDate, renderTable, writeJson } from '../../output.js';
import { safeJsonText } from '../../terminal-text.js';
import { accountIdOf } from './find-account.js';

export type AuditOutput = 'table' | 'json' | 'ndjson';

export interface AuditOptions extends GlobalOptions {
  actor?: string;
  tokenId?: string;
  action?: string;
  since?: string;
  until?: string;
  limit?: string;
  output?: AuditOutput | string;
}

/** How many events `--output table|json` shows unless --limit says otherwise (newest first). */
export const AUDIT_DEFAULT_LIMIT = 50;

/** `2026-03-01` (midnight UTC) or an RFC 3339 date-time, as RFC 3339; a usage error otherwise. */
export function timeOption(value: string | undefined, option: string): string | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const iso = /^\d{4}-\d\d-\d\d$/.test(text) ? `${text}T00:00:00Z` : text;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(iso) || Number.isNaN(Date.parse(iso))) {
    throw new UsageError(`${option} takes a date (2026-03-01) or an RFC 3339 date-time (2026-03-01T12:00:00Z), not "${value}".`);
  }
  return new Date(Date.parse(iso)).toISOString();
}

/**
 * `latchkey admin audit`: the audit trail (GET /api/v1/admin/audit, admin:read). A table or JSON
 * of the newest events (--limit, default 50), or with --output ndjson every matching event,
 * streamed to stdout as the server sends it (the export).
 */
export async function showAudit(io: CliIo, options: AuditOptions): Promise<void> {
  const filters = new URLSearchParams();
  const since = timeOption(options.since, '--since');
  const until = timeOption(options.until, '--until');
  let limit = AUDIT_DEFAULT_LIMIT;
  if (options.limit !== undefined) {
    if (!/^\d{1,6}$/.test(options.limit.trim()) || Number(options.limit) < 1) {
      throw new UsageError(`--limit takes a number of events (at least 1), not "${options.limit}".`);
    }
    limit = Number(options.limit);
  }
  const { client } = await connect(io, options);
  if (options.actor) filters.set('actor', await accountIdOf(client, options.actor));
  if (options.tokenId) filters.set('token', options.tokenId);
  if (options.action) filters.set('action', options.action);
  if (since) filters.set('since', since);
  if (until) filters.set('until', until);

  if (options.output === 'ndjson') {
    const query = filters.toString();
    await client.stream({ method: 'GET', path: `/api/v1/admin/audit${query ? `?${query}` : ''}` }, NDJSON_MEDIA_TYPE, (text) =>
      io.stdout.write(safeJsonText(text)),
    );
    return;
  }

  const events: AdminAuditEventView[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams(filters);
    query.set('limit', String(Math.min(200, limit - events.length)));
    if (cursor) query.set('cursor', cursor);
    const page = await client.send({ method: 'GET', path: `/api/v1/admin/audit?${query}` }, adminAuditListSchema);
    events.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor && events.length < limit);

  if (options.output === 'json') {
    writeJson(io.stdout, { events });
  } else if (events.length === 0) {
    io.stderr.write('No audit event matches.\n');
  } else {
    const actors = await actorLabels(client, events);
    io.stdout.write(
      renderTable(
        ['TIME', 'ACTION', 'ACTOR', 'TOKEN', 'IP', 'TARGET'],
        events.map((event) => [
          formatDate(event.occurredAt),
          event.action,
          event.actor.accountId === null ? 'server' : (actors.get(event.actor.accountId) ?? event.actor.accountId),
          event.actor.tokenId ?? '-',
          event.actor.ip ?? '-',
          event.targetId,
        ]),
      ),
    );
  }
  if (cursor) io.stderr.write(`Showing the newest ${events.length} events; --limit shows more, --output ndjson exports them all.\n`);
}

/** Actors by email (one lookup each); an account since deleted stays its id. */
async function actorLabels(client: Parameters<typeof accountIdOf>[0], events: AdminAuditEventView[]): Promise<Map<string, string>> {
  const ids = [...new Set(events.map((event) => event.actor.accountId).filter((id): id is string => id !== null))];
  const labels = new Map<string, string>();
  await Promise.all(
    ids.map(async (id) => {
      try {
        labels.set(id, accountLabel(await client.send({ method: 'GET', path: `/api/v1/admin/accounts/${encodeURIComponent(id)}` }, adminAccountSchema)));
      } catch {
        // Deleted (404) or not readable: the id says who it was.
      }
    }),
  );
  return labels;
}
