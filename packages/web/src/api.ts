/**
 * The console's only way to the server: same-origin fetch with the session cookie, the CSRF
 * token on every mutation, and problem+json turned into an ApiError the pages can show.
 */
import {
  CSRF_HEADER,
  NDJSON_MEDIA_TYPE,
  type AdminAccountList,
  type AdminCreateServiceAccountRequest,
  type AdminCreateServiceTokenRequest,
  type AdminServiceAccountList,
  type AdminServiceAccountView,
  type AdminServiceAccountsQuery,
  type AdminThrottleList,
  type AdminUpdatePolicyRequest,
  type PolicyView,
  type AdminAccountsQuery,
  type AdminAccountView,
  type AdminAuditList,
  type AdminAuditQuery,
  type AdminTokenList,
  type AdminTokensQuery,
  type CreateNamespaceRequest,
  type CreateTokenRequest,
  type CreateTokenResponse,
  type CreateWebhookRequest,
  type CreateWebhookResponse,
  type UpdateWebhookRequest,
  type WebhookDeliveryView,
  type WebhookView,
  type RotateTokenRequest,
  type ErrorCode,
  type FieldError,
  type ListTokensQuery,
  type MeResponse,
  type NamespaceView,
  type NoticeView,
  type NotificationSettings,
  type UpdateNotificationPreferences,
  type TokenActivityView,
  type TokenSettingsView,
  type TokenView,
} from '@latchkey/contract';

/** A failed request: a problem+json answer, or no answer at all (`status` 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'NETWORK' | 'UNKNOWN',
    readonly title: string,
    readonly detail?: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail ?? title);
    this.name = 'ApiError';
  }

  /** The message for one request-body field (`/name`), if the server gave one. */
  fieldError(pointer: string): string | undefined {
    return this.errors.find((error) => error.pointer === pointer)?.detail;
  }
}

/** What the public sign-in-options endpoint says about how to sign in here. */
export interface SignInOptions {
  oidc: { label: string } | null;
}

let csrfToken: string | undefined;
let onUnauthenticated: () => void = () => {};

/** Remembers the session's CSRF token (from GET /api/v1/me); it lives in memory only. */
export function setCsrfToken(value: string | undefined): void {
  csrfToken = value;
}

/** Called when the session is gone (401): the app shows the sign-in page. */
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

async function request<T>(method: string, path: string, body?: unknown, { quiet401 = false } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers[CSRF_HEADER] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Network error', 'The server could not be reached. Check your connection and try again.');
  }
  if (response.ok) {
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
  const error = await problemOf(response);
  if (error.status === 401 && !quiet401) onUnauthenticated();
  throw error;
}

async function problemOf(response: Response): Promise<ApiError> {
  let problem: Record<string, unknown> = {};
  try {
    problem = (await response.json()) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page, say): fall back to the status.
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const code = text(problem.code) as ErrorCode | undefined;
  const errors = Array.isArray(problem.errors) ? (problem.errors as FieldError[]) : [];
  return new ApiError(
    response.status,
    code ?? 'UNKNOWN',
    text(problem.title) ?? (response.statusText || `HTTP ${response.status}`),
    text(problem.detail),
    errors,
  );
}

/** `?a=1&b=2` from the filters that are set (empty strings and undefined are left out). */
export function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The audit export (every matching event, one JSON object a line) as a Blob to download. */
async function auditExport(query: Omit<AdminAuditQuery, 'cursor' | 'limit'>): Promise<Blob> {
  let response: Response;
  try {
    response = await fetch(`/api/v1/admin/audit${queryString(query)}`, {
      headers: { accept: NDJSON_MEDIA_TYPE },
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Network error', 'The server could not be reached. Check your connection and try again.');
  }
  if (!response.ok) {
    const error = await problemOf(response);
    if (error.status === 401) onUnauthenticated();
    throw error;
  }
  return new Blob([await response.text()], { type: NDJSON_MEDIA_TYPE });
}

/** A sentence a person can act on, for any failure. */
export function errorMessage(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong. Reload the page and try again.';
  switch (error.code) {
    case 'NETWORK':
      return error.detail!;
    case 'CSRF_REJECTED':
      return 'Your session has changed in another tab. Reload the page and try again.';
    case 'RATE_LIMITED':
      return 'Too many requests. Wait a minute and try again.';
    case 'UNAVAILABLE':
      return 'The server is temporarily unavailable. Try again in a moment.';
    case 'INTERNAL':
      return 'The server failed to handle this request. Try again; if it keeps happening, contact your administrator.';
    case 'UNAUTHENTICATED':
      return 'You are signed out. Sign in again to continue.';
    case 'VALIDATION_FAILED': {
      const fields = error.errors.map((field) => field.detail).join('; ');
      return fields ? `${error.detail ?? 'Invalid input'}: ${fields}` : (error.detail ?? error.title);
    }
    default:
      return error.detail ?? error.title;
  }
}

export const api = {
  /** The signed-in account, or an ApiError 401 when signed out (no redirect: the caller decides). */
  me: () => request<MeResponse>('GET', '/api/v1/me', undefined, { quiet401: true }),
  signInOptions: () => request<SignInOptions>('GET', '/api/v1/sign-in-options', undefined, { quiet401: true }),
  signOut: () => request<void>('POST', '/auth/sign-out'),

  listTokens: (state?: ListTokensQuery['state']) =>
    request<{ tokens: TokenView[] }>('GET', state ? `/api/v1/tokens?state=${encodeURIComponent(state)}` : '/api/v1/tokens'),
  createToken: (input: CreateTokenRequest) => request<CreateTokenResponse>('POST', '/api/v1/tokens', input),
  /** One of the signed-in account's tokens (404 for anyone else's). */
  getToken: (id: string) => request<TokenView>('GET', `/api/v1/tokens/${encodeURIComponent(id)}`),
  /** Where a token was last used from (up to 5 distinct addresses) and what it did recently. */
  tokenActivity: (id: string) => request<TokenActivityView>('GET', `/api/v1/tokens/${encodeURIComponent(id)}/activity`),
  revokeToken: (id: string) => request<void>('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`),
  /** Replaces a token by a new one (same name, scopes, restrictions); the old secret works for `graceSeconds`. */
  rotateToken: (id: string, input: RotateTokenRequest) =>
    request<CreateTokenResponse>('POST', `/api/v1/tokens/${encodeURIComponent(id)}/rotate`, input),
  /** The lifetimes this server allows (TOKEN_MAX_LIFETIME_DAYS): the New Token dialog offers only these. */
  tokenSettings: () => request<TokenSettingsView>('GET', '/api/v1/token-settings'),

  /** Notices not yet dismissed (tokens revoked because they were reported as leaked, uses from outside an allowlist). */
  listNotices: () => request<{ notices: NoticeView[] }>('GET', '/api/v1/notices'),
  dismissNotice: (id: string) => request<void>('POST', `/api/v1/notices/${encodeURIComponent(id)}/dismiss`),

  /** Which emails the account receives, and whether the server sends email at all. */
  notificationSettings: () => request<NotificationSettings>('GET', '/api/v1/me/notifications'),
  updateNotifications: (update: UpdateNotificationPreferences) => request<NotificationSettings>('PUT', '/api/v1/me/notifications', update),

  /** Administration (administrators only; anyone else gets 403). */
  admin: {
    listAccounts: (query: AdminAccountsQuery) => request<AdminAccountList>('GET', `/api/v1/admin/accounts${queryString(query)}`),
    disableAccount: (id: string) => request<AdminAccountView | undefined>('POST', `/api/v1/admin/accounts/${encodeURIComponent(id)}/disable`),
    enableAccount: (id: string) => request<AdminAccountView | undefined>('POST', `/api/v1/admin/accounts/${encodeURIComponent(id)}/enable`),
    deleteAccount: (id: string) => request<void>('DELETE', `/api/v1/admin/accounts/${encodeURIComponent(id)}`),
    listTokens: (query: AdminTokensQuery) => request<AdminTokenList>('GET', `/api/v1/admin/tokens${queryString(query)}`),
    revokeToken: (id: string) => request<void>('DELETE', `/api/v1/admin/tokens/${encodeURIComponent(id)}`),
    listAudit: (query: AdminAuditQuery) => request<AdminAuditList>('GET', `/api/v1/admin/audit${queryString(query)}`),
    exportAudit: auditExport,

    listServiceAccounts: (query: AdminServiceAccountsQuery) =>
      request<AdminServiceAccountList>('GET', `/api/v1/admin/service-accounts${queryString(query)}`),
    createServiceAccount: (input: AdminCreateServiceAccountRequest) =>
      request<AdminServiceAccountView>('POST', '/api/v1/admin/service-accounts', input),
    deleteServiceAccount: (id: string) => request<void>('DELETE', `/api/v1/admin/service-accounts/${encodeURIComponent(id)}`),
    /** A new token for a service account: the secret is in this answer only. */
    mintServiceToken: (id: string, input: AdminCreateServiceTokenRequest) =>
      request<CreateTokenResponse>('POST', `/api/v1/admin/service-accounts/${encodeURIComponent(id)}/tokens`, input),

    getPolicy: () => request<PolicyView>('GET', '/api/v1/admin/policy'),
    setPolicy: (policy: AdminUpdatePolicyRequest) => request<PolicyView>('PUT', '/api/v1/admin/policy', policy),

    listThrottles: () => request<AdminThrottleList>('GET', '/api/v1/admin/throttles'),
    liftThrottle: (address: string) => request<void>('DELETE', `/api/v1/admin/throttles/${encodeURIComponent(address)}`),
  },

  /** Webhook endpoints of the signed-in account; the signing secret is in the create answer only. */
  webhooks: {
    list: () => request<{ webhooks: WebhookView[] }>('GET', '/api/v1/webhooks'),
    create: (input: CreateWebhookRequest) => request<CreateWebhookResponse>('POST', '/api/v1/webhooks', input),
    update: (id: string, input: UpdateWebhookRequest) => request<WebhookView>('PATCH', `/api/v1/webhooks/${encodeURIComponent(id)}`, input),
    delete: (id: string) => request<void>('DELETE', `/api/v1/webhooks/${encodeURIComponent(id)}`),
    deliveries: (id: string) => request<{ deliveries: WebhookDeliveryView[] }>('GET', `/api/v1/webhooks/${encodeURIComponent(id)}/deliveries`),
    redeliver: (id: string, deliveryId: string) =>
      request<WebhookDeliveryView>('POST', `/api/v1/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`),
  },

  listNamespaces: () => request<{ namespaces: NamespaceView[] }>('GET', '/api/v1/namespaces'),
  createNamespace: (input: CreateNamespaceRequest) => request<NamespaceView>('POST', '/api/v1/namespaces', input),
  deleteNamespace: (name: string) => request<void>('DELETE', `/api/v1/namespaces/${encodeURIComponent(name)}`),
};
