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
  adminCreateServiceAccountRequestSchema,
  adminCreateServiceTokenRequestSchema,
  adminServiceAccountListSchema,
  adminServiceAccountSchema,
  adminServiceAccountsQuerySchema,
  adminThrottleListSchema,
  adminUpdatePolicyRequestSchema,
  createTokenResponseSchema,
  policySchema,
  NDJSON_MEDIA_TYPE,
  type AdminServiceAccountView,
  type PolicyView,
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
import type { Policy, PolicyService } from './policy-service.js';
import type { ServiceAccountRecord, ServiceAccountService } from './service-account-service.js';
import type { ThrottleService } from './throttle-service.js';

const idParams = z.object({ id: z.string() });

const READ = { auth: 'either', scope: 'admin:read', admin: true } as const;
const WRITE = { auth: 'either', scope: 'admin:write', admin: true } as const;

function presentAdminAccount(account: AccountSummary): AdminAccountView {
  return {
    ...presentAccount(account),
    kind: account.kind ?? 'person',
    disabledAt: isoOrNull(account.disabledAt),
    lastSignInAt: isoOrNull(account.lastSignInAt),
    activeTokens: account.activeTokens,
  };
}

function presentServiceAccount(account: ServiceAccountRecord): AdminServiceAccountView {
  return {
    id: account.id,
    name: account.name,
    description: account.description,
    createdAt: iso(account.createdAt),
    createdBy: account.createdBy,
    activeTokens: account.activeTokens,
  };
}

function presentPolicy(policy: Policy): PolicyView {
  return {
    maxLifetimeDays: policy.maxLifetimeDays,
    serviceMaxLifetimeDays: policy.serviceMaxLifetimeDays,
    personalScopes: [...policy.personalScopes],
    idleRevokeDays: policy.idleRevokeDays,
    updatedAt: isoOrNull(policy.updatedAt),
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

export function registerAdminRoutes(
  app: ZodApp,
  services: { admin: AdminService; serviceAccounts: ServiceAccountService; policy: PolicyService; throttles: ThrottleService },
): void {
  const { admin } = services;
  registerSlice2Routes(app, services);

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

/** Service accounts, the instance policy and throttled addresses (administration, slice 2). */
function registerSlice2Routes(
  app: ZodApp,
  { serviceAccounts, policy, throttles }: { serviceAccounts: ServiceAccountService; policy: PolicyService; throttles: ThrottleService },
): void {
  app.post(
    '/api/v1/admin/service-accounts',
    {
      config: WRITE,
      schema: {
        summary: 'Create a service account: a non-human account that holds tokens an administrator mints and never signs in',
        tags: ['admin'],
        body: adminCreateServiceAccountRequestSchema,
        response: { 201: adminServiceAccountSchema },
      },
    },
    async (request, reply) => {
      const created = await serviceAccounts.create(request.body, actorOf(request));
      return reply.code(201).send(presentServiceAccount(created));
    },
  );

  app.get(
    '/api/v1/admin/service-accounts',
    {
      config: READ,
      schema: {
        summary: 'Service accounts, newest first, with their creator, a page at a time',
        tags: ['admin'],
        querystring: adminServiceAccountsQuerySchema,
        response: { 200: adminServiceAccountListSchema },
      },
    },
    async (request) => {
      const { items, nextCursor } = await serviceAccounts.list(request.query);
      return { serviceAccounts: items.map(presentServiceAccount), nextCursor };
    },
  );

  app.delete(
    '/api/v1/admin/service-accounts/:id',
    {
      config: WRITE,
      schema: {
        summary: 'Delete a service account; its tokens are refused at once, on every instance',
        tags: ['admin'],
        params: idParams,
      },
    },
    async (request, reply) => {
      await serviceAccounts.delete(request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/admin/service-accounts/:id/tokens',
    {
      config: WRITE,
      schema: {
        summary: "Mint a token for a service account under the service policy; the secret is in this response only",
        tags: ['admin'],
        params: idParams,
        body: adminCreateServiceTokenRequestSchema,
        response: { 201: createTokenResponseSchema },
      },
    },
    async (request, reply) => {
      const { token, secret } = await serviceAccounts.createToken(request.params.id, request.body, actorOf(request));
      reply.code(201).header('cache-control', 'no-store');
      return { token: presentToken(token, token.createdAt), secret };
    },
  );

  app.get(
    '/api/v1/admin/policy',
    {
      config: READ,
      schema: { summary: 'The instance policy for new tokens and idle tokens', tags: ['admin'], response: { 200: policySchema } },
    },
    async () => presentPolicy(await policy.current()),
  );

  app.put(
    '/api/v1/admin/policy',
    {
      config: WRITE,
      schema: {
        summary: 'Replace the instance policy: applies to new tokens at once, on every instance',
        tags: ['admin'],
        body: adminUpdatePolicyRequestSchema,
        response: { 200: policySchema },
      },
    },
    async (request) => presentPolicy(await policy.update(request.body, actorOf(request))),
  );

  app.get(
    '/api/v1/admin/throttles',
    {
      config: READ,
      schema: {
        summary: 'Client addresses throttled for refused tokens, with their failure counts',
        tags: ['admin'],
        response: { 200: adminThrottleListSchema },
      },
    },
    async () => ({
      throttles: (await throttles.list()).map((throttle) => ({ ...throttle, since: iso(throttle.since), until: iso(throttle.until) })),
    }),
  );

  app.delete(
    '/api/v1/admin/throttles/:address',
    {
      config: WRITE,
      schema: {
        summary: "Lift an address's throttle (its failure count forgotten); an IPv6 /64 percent-encodes its slash",
        tags: ['admin'],
        params: z.object({ address: z.string().max(64) }),
      },
    },
    async (request, reply) => {
      await throttles.lift(request.params.address, actorOf(request));
      return reply.code(204).send();
    },
  );
}
