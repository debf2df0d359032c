/**
 * The one way commands talk to a server: JSON over the injected `fetch`, the token as a bearer
 * header and nowhere else, responses parsed with the contract's schemas, errors turned into
 * `ApiError`/`NetworkError` for `main.ts`, and the expiry warning read from
 * `Latchkey-Token-Expires-At` on every answer.
 */
import { DAY_MS, EXPIRING_WINDOW_DAYS, TOKEN_EXPIRES_AT_HEADER, isErrorCode } from '@latchkey/contract';
import { relativeTime } from '@latchkey/contract/relative-time';
import { ApiError, CliError, NetworkError } from './cli-errors.js';
import { nowOf, type CliIo } from './io.js';
import { formatDate } from './output.js';
import { escapeTerminalText } from './terminal-text.js';

export interface ApiClientOptions {
  baseUrl: string;
  token: string | null;
  verbose?: boolean;
  /** The expiry the CLI already knows (stored context), for the TOKEN_EXPIRED message. */
  knownTokenExpiresAt?: string | null;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** Send no Authorization header (the browser-login exchange). */
  anonymous?: boolean;
}

/** What `send` needs of a response schema; the contract's zod schemas fit it. */
export interface ResponseSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

export interface ApiClient {
  readonly baseUrl: string;
  /** Sends the request; resolves with the parsed body (or undefined for 204). */
  send<T>(request: ApiRequest, schema?: ResponseSchema<T>): Promise<T>;
  /**
   * Sends the request asking for `accept` (NDJSON, say) and hands the answer's body to `write`
   * as it arrives, without parsing it; a failure answer is an ApiError as with `send`.
   */
  stream(request: ApiRequest, accept: string, write: (text: string) => void): Promise<void>;
  /** The token expiry the last answer reported, if any. */
  readonly lastTokenExpiresAt: string | undefined;
}

/**
 * A 429 whose `Retry-After` is this short is waited out and the request sent again, at most
 * twice more: a server throttling failed authentication from a shared address (a NAT, a CI
 * runner) still admits one lookup a second from it, so a valid token gets through on a retry
 * instead of failing the job. A 429 means the request was not processed, so any method may be
 * sent again.
 */
const RATE_LIMIT_RETRIES = 2;
const RATE_LIMIT_MAX_WAIT_SECONDS = 5;

export function createApiClient(io: CliIo, options: ApiClientOptions): ApiClient {
  let warned = false;
  let lastTokenExpiresAt: string | undefined;

  function noteExpiry(header: string | null): void {
    if (!header) return;
    const expiresAt = Date.parse(header);
    if (Number.isNaN(expiresAt)) return;
    lastTokenExpiresAt = new Date(expiresAt).toISOString();
    const now = nowOf(io);
    const left = expiresAt - now;
    if (warned || left <= 0 || left > EXPIRING_WINDOW_DAYS * DAY_MS) return;
    warned = true;
    // The console's wording ("in 3 days", "in less than an hour"), from the contract.
    io.stderr.write(
      `warning: this token expires ${relativeTime(expiresAt, now)} (${formatDate(lastTokenExpiresAt)}); ` +
        `create a new one in the console (Settings › Personal Access Tokens) before then.\n`,
    );
  }

  /** Sends the request (retrying a short 429); a failure answer becomes an ApiError. */
  async function exchange(request: ApiRequest, accept: string): Promise<{ url: string; response: Response }> {
    const url = `${options.baseUrl}${request.path}`;
    const headers: Record<string, string> = { accept };
    if (!request.anonymous && options.token) headers.authorization = `Bearer ${options.token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const started = Date.now();
    if (options.verbose) io.stderr.write(`> ${request.method} ${escapeTerminalText(url)}\n`);

    let response: Response;
    for (let retries = 0; ; retries++) {
      try {
        response = await io.fetch(url, {
          method: request.method,
          headers,
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
          redirect: 'error',
        });
      } catch (error) {
        throw new NetworkError(options.baseUrl, networkReason(error));
      }
      if (options.verbose) io.stderr.write(`< ${response.status} (${Date.now() - started} ms)\n`);
      const wait = response.status === 429 ? Number(response.headers.get('retry-after') ?? Number.NaN) : Number.NaN;
      if (!(retries < RATE_LIMIT_RETRIES && wait >= 0 && wait <= RATE_LIMIT_MAX_WAIT_SECONDS)) break;
      await response.arrayBuffer().catch(() => undefined);
      if (options.verbose) io.stderr.write(`  rate limited: trying again in ${wait} s\n`);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
    if (!request.anonymous) noteExpiry(response.headers.get(TOKEN_EXPIRES_AT_HEADER));

    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw apiErrorFrom(url, response, text, options);
    }
    return { url, response };
  }

  return {
    baseUrl: options.baseUrl,
    get lastTokenExpiresAt() {
      return lastTokenExpiresAt;
    },

    async send<T>(request: ApiRequest, schema?: ResponseSchema<T>): Promise<T> {
      const { url, response } = await exchange(request, 'application/json');
      const text = await response.text().catch(() => '');
      if (response.status === 204 || schema === undefined) return undefined as T;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new CliError(`${url} did not answer with JSON; is ${options.baseUrl} a Latchkey server?`);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new CliError(`${url} answered in an unexpected shape; is this CLI (and the server) up to date?`);
      }
      return parsed.data;
    },

    async stream(request: ApiRequest, accept: string, write: (text: string) => void): Promise<void> {
      const { url, response } = await exchange(request, accept);
      if (!response.body) return;
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          const text = decoder.decode(chunk, { stream: true });
          if (text) write(text);
        }
      } catch (error) {
        throw new NetworkError(url, networkReason(error));
      }
      const rest = decoder.decode();
      if (rest) write(rest);
    },
  };
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

/** Reads an error answer: RFC 9457 problem+json from Latchkey, anything else from a proxy. */
function apiErrorFrom(url: string, response: Response, body: string, options: ApiClientOptions): ApiError {
  let problem: Record<string, unknown> | undefined;
  if (/^application\/(problem\+)?json/.test(response.headers.get('content-type') ?? '')) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object') problem = parsed as Record<string, unknown>;
    } catch {
      problem = undefined;
    }
  }
  const retryAfterHeader = response.headers.get('retry-after');
  const retryAfter = retryAfterHeader === null ? Number.NaN : Number(retryAfterHeader);
  return new ApiError(
    url,
    response.status,
    isErrorCode(problem?.code) ? problem.code : undefined,
    problem,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
    options.knownTokenExpiresAt ?? undefined,
    options.baseUrl,
  );
}
