/**
 * The one way a webhook leaves the server: a POST that refuses private, loopback, link-local,
 * multicast and metadata addresses at connect time — after DNS resolution, so a name that
 * resolves to 127.0.0.1 is refused too — and again on every redirect (followed by hand, at most
 * three), unless the operator allows private targets (WEBHOOK_ALLOW_PRIVATE). Bounded in time and
 * in what it reads back.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

export interface WebhookResponse {
  /** The final response's status, or null when none came. */
  status: number | null;
  durationMs: number;
  /** Why no 2xx came, in a few words (never the URL: it may carry a receiver's secret). */
  error: string | null;
  /** A short, sanitized excerpt of the response body. */
  excerpt: string | null;
}

export type WebhookSender = (request: WebhookRequest) => Promise<WebhookResponse>;

export interface WebhookSenderOptions {
  /** WEBHOOK_ALLOW_PRIVATE: send to any address (local development and tests). */
  allowPrivate: boolean;
  /** Connect and whole-request bound, redirects included (default 10 s). */
  timeoutMs?: number;
  maxRedirects?: number;
  /** Resolves names instead of DNS; its answers are checked like DNS's (tests resolve names to chosen addresses). */
  lookup?: LookupFunction;
  /** Addresses allowed although the rule refuses them, once resolved from a name (tests reach a receiver on loopback). */
  allowAddresses?: string[];
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_REDIRECTS = 3;
/** Bytes of a response body read at most; the rest is dropped unread. */
const MAX_BODY_BYTES = 1024;
const EXCERPT_CHARS = 200;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const ADDRESS_REFUSED = 'address not allowed (private, loopback, link-local, multicast or metadata)';

/**
 * Whether a URL's host is, as written, an address no webhook may target (an IP literal outside
 * public unicast, or a `localhost` name): refused when the endpoint is saved. Names that resolve
 * to such addresses are refused when connecting.
 */
export function isRefusedHost(hostname: string): boolean {
  // Brackets of an IPv6 literal, and the root's trailing dot (`localhost.` is `localhost`).
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (!ipaddr.isValid(host)) return false;
  const parsed = ipaddr.process(host);
  return parsed.range() !== 'unicast';
}

export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  // No keep-alive: every request connects (and is checked) afresh.
  const agents = options.allowPrivate
    ? { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) }
    : {
        http: new RequestFilteringHttpAgent({ keepAlive: false, allowIPAddressList: options.allowAddresses ?? [] }),
        https: new RequestFilteringHttpsAgent({ keepAlive: false, allowIPAddressList: options.allowAddresses ?? [] }),
      };

  return async (request) => {
    const started = performance.now();
    const deadline = AbortSignal.timeout(timeoutMs);
    const elapsed = () => Math.round(performance.now() - started);
    let url = new URL(request.url);
    for (let redirects = 0; ; redirects += 1) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return failure(elapsed(), 'redirected to a URL that is not http or https');
      if (!options.allowPrivate && isRefusedHost(url.hostname)) return failure(elapsed(), ADDRESS_REFUSED);
      let answer: { status: number; location: string | undefined; body: string };
      try {
        answer = await post(url, request, { agent: url.protocol === 'https:' ? agents.https : agents.http, lookup: options.lookup }, deadline, timeoutMs);
      } catch (error) {
        return failure(elapsed(), describeError(error, deadline));
      }
      if (REDIRECTS.has(answer.status) && answer.location !== undefined) {
        if (redirects >= maxRedirects) return { status: answer.status, durationMs: elapsed(), error: 'too many redirects', excerpt: null };
        try {
          url = new URL(answer.location, url);
        } catch {
          return { status: answer.status, durationMs: elapsed(), error: 'redirected to an invalid URL', excerpt: null };
        }
        continue;
      }
      const succeeded = answer.status >= 200 && answer.status < 300;
      return {
        status: answer.status,
        durationMs: elapsed(),
        error: succeeded ? null : `answered ${answer.status}`,
        excerpt: excerptOf(answer.body),
      };
    }
  };
}

/** One POST, its body read up to MAX_BODY_BYTES. Redirects are POSTed again with the same body. */
function post(
  url: URL,
  request: WebhookRequest,
  connection: { agent: http.Agent; lookup: LookupFunction | undefined },
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ status: number; location: string | undefined; body: string }> {
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const outgoing = send(url, {
      method: 'POST',
      agent: connection.agent,
      ...(connection.lookup && { lookup: connection.lookup }),
      signal,
      timeout: timeoutMs,
      headers: { ...request.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(request.body), 'user-agent': 'Latchkey-Webhooks/1' },
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        response.destroy();
        const location = response.headers.location;
        resolve({ status: response.statusCode ?? 0, location, body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8') });
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) finish();
      });
      response.on('end', finish);
      response.on('error', reject);
    });
    outgoing.end(request.body);
  });
}

function failure(durationMs: number, error: string): WebhookResponse {
  return { status: null, durationMs, error, excerpt: null };
}

function describeError(error: unknown, deadline: AbortSignal): string {
  if (deadline.aborted) return 'timed out';
  const { code, message } = error as { code?: string; message?: string };
  if (typeof message === 'string' && message.includes('is not allowed')) return ADDRESS_REFUSED;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (message === 'timed out') return 'timed out';
  if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return `request failed (${code})`;
  return 'request failed';
}

/** Printable text only, short: it is stored and shown in the console. */
function excerptOf(body: string): string | null {
  // eslint-disable-next-line no-control-regex
  const text = body.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  if (text === '') return null;
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}
