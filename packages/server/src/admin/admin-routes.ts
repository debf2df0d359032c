/**
 * The administration API, `/api/v1/admin/…` (docs/api.md): an administrator's console session
 * (with CSRF on mutations) or a token of an administrator holding `admin:read` (reads) or
 * `admin:write` (changes). `config.admin` makes the authentication hook answer 403 FORBIDDEN to
 * anyone else (docs/security.md, item 49).
 */
import { Readable } from 'node:stream';
import {
  adminAccountListSchema,
  adminAccountSchema,
  adminAccountsQuerySchema,
  adminAuditListSchema,
  adminAuditQuerySchema,
  adminTokenListSchema,
  adminTokensQuerySchema,
  adminUpdateAccountRequestSchema,
  NDJSON_MEDIA_TYPE,
  type AdminAccountView,
  type AdminAuditEventView,
} from '@latchkey/contract';
import { z } from 'zod';
import type { AccountSummary } from '../accounts/account.js';
import { presentAccount } from '../accounts/account-view.js';
import type { AuditEventRecord } from '../audit/audit-event.js';
import { actorOf } from '../http/principal.js';
import { iso, isoOrNull } from '../http/timestamps.js';
import type { ZodApp } from '../http/zod-app.js';
import { presentToken } from '../tokens/token-view.js';
import type { AdminService } from './admin-service.js';

const idParams = z.object({ id: z.string() });

const READ = { auth: 'either', scope: 'admin:read', admin: true } as const;
const WRITE = { auth: 'either', scope: 'admin:write', admin: true } as const;

function presentAdminAccount(account: AccountSummary): AdminAccountView {
  return {
    ...presentAccount(account),
    disabledAt: isoOrNull(account.disabledAt),
    lastSignInAt: isoOrNull(account.lastSignInAt),
    activeTokens: account.activeTokens,
  };
}

function presentAuditEvent(event: AuditEventRecord): AdminAuditEventView {
  return {
    id: event.id,
    occurredAt: iso(event.occurredAt),
    action: event.action,
    actor: { ...event.actor },
    targetId: event.targetId,
    detail: event.detail,
  };
}

/** Whether the client asked for the NDJSON export (`Accept: application/x-ndjson`). */
function wantsNdjson(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some((range) => range.split(';')[0]!.trim().toLowerCase() === NDJSON_MEDIA_TYPE);
}

export function registerAdminRoutes(app: ZodApp, { admin }: { admin: AdminService }): void {
  app.get(
    '/api/v1/admin/accounts',
    {
      config: READ,
      schema: {
        summary: 'Every account, newest first, by search and state, a page at a time',
        tags: ['admin'],
        querystring: adminAccountsQuerySchema,
        response: { 200: adminAccountListSchema },
      },
    },
    async (request) => {
      const { items, nextCursor } = await admin.listAccounts(request.query);
      return { accounts: items.map(presentAdminAccount), nextCursor };
    },
  );

  app.get(
    '/api/v1/admin/accounts/:id',
    {
      config: READ,
      schema: { summary: 'One account', tags: ['admin'], params: idParams, response: { 200: adminAccountSchema } },
    },
    async (request) => presentAdminAccount(await admin.getAccount(request.params.id)),
  );

  app.patch(
    '/api/v1/admin/accounts/:id',
    {
      config: WRITE,
      schema: {
        summary: "Change an account's name or administrator flag (not one's own flag)",
        tags: ['admin'],
        params: idParams,
        body: adminUpdateAccountRequestSchema,
        response: { 200: adminAccountSchema },
      },
    },
    async (request) => presentAdminAccount(await admin.updateAccount(request.params.id, request.body, actorOf(request))),
  );

  app.post(
    '/api/v1/admin/accounts/:id/disable',
    {
      config: WRITE,
      schema: {
        summary: "Disable an account: its sessions and tokens are refused at once, on every instance",
        tags: ['admin'],
        params: idParams,
      },
    },
    async (request, reply) => {
      await admin.disableAccount(request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/admin/accounts/:id/enable',
    {
      config: WRITE,
      schema: { summary: 'Enable a disabled account again', tags: ['admin'], params: idParams },
    },
    async (request, reply) => {
      await admin.enableAccount(request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.delete(
    '/api/v1/admin/accounts/:id',
    {
      config: WRITE,
      schema: {
        summary: 'Delete an account with its tokens, sessions and namespaces (the audit trail is kept)',
        tags: ['admin'],
        params: idParams,
      },
    },
    async (request, reply) => {
      await admin.deleteAccount(request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/admin/tokens',
    {
      config: READ,
      schema: {
        summary: "Every account's tokens (never a secret), newest first, filtered, a page at a time",
        tags: ['admin'],
        querystring: adminTokensQuerySchema,
        response: { 200: adminTokenListSchema },
      },
    },
    async (request) => {
      const { items, nextCursor, dbNow } = await admin.listTokens(request.query);
      return { tokens: items.map(({ token, owner }) => ({ ...presentToken(token, dbNow), owner })), nextCursor };
    },
  );

  app.delete(
    '/api/v1/admin/tokens/:id',
    {
      config: WRITE,
      schema: {
        summary: "Revoke any account's token, at once on every instance; its owner is told",
        tags: ['admin'],
        params: idParams,
      },
    },
    async (request, reply) => {
      await admin.revokeToken(request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/admin/audit',
    {
      config: READ,
      schema: {
        summary: `The audit trail, newest first, filtered, a page at a time; with Accept: ${NDJSON_MEDIA_TYPE}, every matching event, one JSON object a line`,
        tags: ['admin'],
        querystring: adminAuditQuerySchema,
        response: { 200: adminAuditListSchema },
      },
    },
    async (request, reply) => {
      if (wantsNdjson(request.headers.accept)) {
        const events = admin.exportAudit(request.query);
        const lines = Readable.from(
          (async function* () {
            for await (const event of events) yield `${JSON.stringify(presentAuditEvent(event))}\n`;
          })(),
        );
        // The 200 schema types the JSON answer; a stream is sent as it is, never serialized.
        return reply.type(NDJSON_MEDIA_TYPE).send(lines as never);
      }
      const { items, nextCursor } = await admin.listAudit(request.query);
      return { events: items.map(presentAuditEvent), nextCursor };
    },
  );
}
