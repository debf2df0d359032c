/**
 * Structured logging with pino. Tokens must never reach a log line: requests are logged from
 * a whitelist of fields with the URL's query values redacted, and as a last line of defence
 * every serialized line is scrubbed of anything token-shaped before it is written.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { tokenFingerprint } from '@latchkey/contract/token';

/** Token-shaped text, including near misses: any `lk_<kind>_` run of base62; and webhook signing secrets (`whsec_` and base64). */
const TOKEN_LIKE = /lk_[a-z]{1,16}_[0-9A-Za-z]+|whsec_[0-9A-Za-z+/=]+/g;
const REDACTED = '[REDACTED]';

export function scrubSecrets(line: string): string {
  return line.replace(TOKEN_LIKE, REDACTED);
}

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['headers.authorization', 'headers.cookie', '*.authorization', '*.cookie'], censor: REDACTED },
      hooks: { streamWrite: scrubSecrets },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** The path, with every query value replaced: query strings are where tokens get pasted. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const query = url
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=', 1)[0]!;
      return pair.includes('=') ? `${name}=${REDACTED}` : name;
    })
    .join('&');
  return `${url.slice(0, queryStart)}?${query}`;
}

/**
 * One line per request: id, method, path, status, time, client, and who it was. A success
 * with a token carries `token_id` and `user_id` (the names docs/security.md, item 28 gives).
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const principal = request.principal;
    request.log.info(
      requestLogFields(request.method, request.url, reply.statusCode, reply.elapsedTime, request.ip, principal?.account, principal?.kind === 'token' ? principal.token : undefined),
      'request',
    );
  });
}

/** The fields of a request's log line (the fast path writes the same, fast-path.ts). */
export function requestLogFields(
  method: string,
  url: string,
  status: number,
  elapsedMs: number,
  ip: string | undefined,
  account: { id: string } | undefined,
  token: { id: string } | undefined,
): Record<string, unknown> {
  return {
    method,
    url: redactUrl(url),
    status,
    ms: Math.round(elapsedMs * 100) / 100,
    ip,
    user_id: account?.id,
    token_id: token?.id,
  };
}

/**
 * The fields of a failed authentication's log event: why, from where, and a fingerprint of the
 * presented token (the first 12 hex characters of its SHA-256), never the token itself.
 */
export function authFailureLogFields(reason: string, clientIp: string | undefined, presented: string | undefined): Record<string, unknown> {
  return {
    event: 'auth_failed',
    reason,
    client_ip: clientIp,
    token_fingerprint: presented === undefined ? undefined : tokenFingerprint(presented),
  };
}
