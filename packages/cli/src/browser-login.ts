/**
 * The browser login of `latchkey context use URL` (RFC 8252 loopback + RFC 7636 PKCE):
 *
 *   1. listen on 127.0.0.1:<random port>;
 *   2. open {URL}/auth/cli?redirect_uri=…&code_challenge=…&code_challenge_method=S256&state=…&client_name=…;
 *   3. the browser comes back to /callback?code=…&state=… (or ?error=access_denied&state=…);
 *   4. POST {URL}/auth/cli/token {code, code_verifier, redirect_uri} → {token, name, expiresAt}.
 *
 * The token itself never travels in a URL. A callback with the wrong state is answered 400 and
 * ignored, so a stray or forged request cannot end (or hijack) the login.
 */
import { createHash, randomBytes } from 'node:crypto';
import { pkceChallenge, secretsEqual } from '@latchkey/contract/secrets';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cliTokenRequestSchema, cliTokenResponseSchema, type CliTokenResponse } from '@latchkey/contract';
import { createApiClient } from './api-client.js';
import { CliError } from './cli-errors.js';
import type { CliIo } from './io.js';
import { escapeTerminalText } from './terminal-text.js';
import { checkTokenFormat } from './token-input.js';

export const BROWSER_LOGIN_TIMEOUT_MS = 5 * 60_000;

/** What POST /auth/cli/token answers: the new token (in this answer only), its id, name and expiry. */
export type BrowserLoginResult = CliTokenResponse;

export interface BrowserLoginOptions {
  /** The server's normalised base URL. */
  url: string;
  clientName: string;
  verbose?: boolean;
  timeoutMs?: number;
}

export async function loginWithBrowser(io: CliIo, options: BrowserLoginOptions): Promise<BrowserLoginResult> {
  const verifier = base64url(randomBytes(32));
  const challenge = pkceChallenge(verifier);
  const state = base64url(randomBytes(16));

  const callback = await startCallbackListener(state, options.timeoutMs ?? BROWSER_LOGIN_TIMEOUT_MS);
  try {
    const redirectUri = `http://127.0.0.1:${callback.port}/callback`;
    const authorizeUrl = new URL(`${options.url}/auth/cli`);
    authorizeUrl.search = new URLSearchParams({
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      client_name: options.clientName,
    }).toString();

    const opened = io.openBrowser ? await io.openBrowser(authorizeUrl.href).catch(() => false) : false;
    io.stderr.write(
      opened
        ? `Opened your browser to sign in to ${escapeTerminalText(options.url)}; waiting for you to finish there (Ctrl-C to cancel).\n`
        : `Open this address in a browser to sign in:\n\n  ${escapeTerminalText(authorizeUrl.href)}\n\nWaiting for you to finish there (Ctrl-C to cancel).\n`,
    );

    const code = await callback.code;
    const client = createApiClient(io, { baseUrl: options.url, token: null, verbose: options.verbose });
    const result = await client.send(
      {
        method: 'POST',
        path: '/auth/cli/token',
        body: cliTokenRequestSchema.parse({ code, code_verifier: verifier, redirect_uri: redirectUri }),
        anonymous: true,
      },
      cliTokenResponseSchema,
    );
    return { ...result, token: checkTokenFormat(result.token, 'the browser login') };
  } finally {
    callback.close();
  }
}

interface CallbackListener {
  port: number;
  /** Resolves with the one-time code once the browser comes back with the right state. */
  code: Promise<string>;
  close(): void;
}

async function startCallbackListener(state: string, timeoutMs: number): Promise<CallbackListener> {
  let settle!: { resolve: (code: string) => void; reject: (error: Error) => void };
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  code.catch(() => undefined);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET' || url.pathname !== '/callback') {
      return answer(response, 404, 'Not found.');
    }
    if (!sameState(url.searchParams.get('state'), state)) {
      return answer(response, 400, 'This sign-in link does not belong to the waiting latchkey command.');
    }
    const error = url.searchParams.get('error');
    if (error) {
      answer(response, 200, 'Sign-in cancelled. You can close this window.');
      settle.reject(
        new CliError(
          error === 'access_denied'
            ? 'The sign-in was denied in the browser; nothing was stored.'
            : `The browser sign-in failed (${escapeTerminalText(error)}); nothing was stored.`,
        ),
      );
      return;
    }
    const oneTimeCode = url.searchParams.get('code');
    if (!oneTimeCode) return answer(response, 400, 'The sign-in answer has no code.');
    answer(response, 200, 'Signed in to Latchkey. You can close this window and return to your terminal.');
    settle.resolve(oneTimeCode);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const timer = setTimeout(
    () => settle.reject(new CliError(`Timed out after ${Math.round(timeoutMs / 60_000)} minutes waiting for the browser sign-in.`)),
    timeoutMs,
  );
  return {
    port: (server.address() as AddressInfo).port,
    code,
    close() {
      clearTimeout(timer);
      server.close();
      server.closeAllConnections();
    },
  };
}

/** The answer page's only style, allowed by its hash: the CSP stays `default-src 'none'` otherwise. */
const ANSWER_PAGE_STYLE = 'body{font:16px/1.5 system-ui,sans-serif;margin:3em;color:#1b1f24}';
const ANSWER_PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(ANSWER_PAGE_STYLE).digest('base64')}'`;

function answer(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-security-policy': ANSWER_PAGE_CSP,
    connection: 'close',
  });
  response.end(
    `<!doctype html><html><head><meta charset="utf-8"><title>Latchkey CLI</title><style>${ANSWER_PAGE_STYLE}</style></head>` +
      `<body><p>${message}</p></body></html>`,
  );
}

function sameState(presented: string | null, expected: string): boolean {
  return secretsEqual(presented, expected);
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}
