import { defineCommand } from 'citty';
import { globalArgs } from '../common-args.js';
import { ioOf, loadActions } from '../load-actions.js';

export const AUDIT_OUTPUT_FORMATS = ['table', 'json', 'ndjson'];

export default defineCommand({
  meta: {
    description: 'show the audit log, newest first; --output ndjson streams every matching event (the export)',
    examples: [
      'latchkey admin audit --action account.disabled',
      'latchkey admin audit --actor admin@example.com --since 2026-03-01',
      'latchkey admin audit --since 2026-01-01 --until 2026-04-01 --output ndjson > audit.ndjson',
    ],
  },
  args: {
    actor: { type: 'string', valueHint: 'email|id', description: 'only events by this account' },
    tokenId: { type: 'string', valueHint: 'id', description: "only this token's trail: events made with it and about it (--token is the credential to use)" },
    action: { type: 'string', valueHint: 'action', description: 'only this action, e.g. token.revoked' },
    since: { type: 'string', valueHint: 'time', description: 'only events at or after this date (2026-03-01) or RFC 3339 time' },
    until: { type: 'string', valueHint: 'time', description: 'only events before this date or RFC 3339 time' },
    limit: { type: 'string', valueHint: 'n', description: 'table and json: how many of the newest events (default 50)' },
    ...globalArgs,
    output: {
      type: 'enum',
      alias: 'o',
      valueHint: 'format',
      options: AUDIT_OUTPUT_FORMATS,
      default: 'table',
      description: 'output format; ndjson: every matching event, one JSON object a line',
    },
  },
  run: async (context) => (await loadActions()).showAudit(ioOf(context), context.args),
});
