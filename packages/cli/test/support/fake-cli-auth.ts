/**
 * A tiny local stand-in for the server's two CLI-login endpoints, for the login's edge cases
 * (denial, replayed code, timeout): GET /auth/cli sends the browser straight back to the
 * loopback redirect with a one-time code (no consent page), POST /auth/cli/token swaps code +
 * PKCE verifier for a token, or answers INVALID_GRANT. cli-binary.test.ts runs the real server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCliAuth {
  url: string;
  /** The query of every GET /auth/cli. */
  authorizeRequests: URLSearchParams[];
  /** What the user does in the browser. */
  decision: 'approve' | 'deny';
  /** What POST /auth/cli/token hands out. */
  token: string;
  exchanges: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startFakeCliAuth(token: string): Promise<FakeCliAuth> {
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  let server: Server;
  const fake: FakeCliAuth = {
    url: '',
    authorizeRequests: [],
    decision: 'approve',
    token,
    exchanges: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method === 'GET' && url.pathname === '/auth/cli') {
      fake.authorizeRequests.push(url.searchParams);
      const redirect = new URL(url.searchParams.get('redirect_uri') ?? '');
      redirect.searchParams.set('state', url.searchParams.get('state') ?? '');
      if (fake.decision === 'deny') {
        redirect.searchParams.set('error', 'access_denied');
      } else {
        const code = randomBytes(16).toString('hex');
        codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri: url.searchParams.get('redirect_uri') ?? '' });
        redirect.searchParams.set('code', code);
      }
      response.writeHead(302, { location: redirect.href }).end();
      return;
    }
    if (request.method === 'POST' && url.pathname === '/auth/cli/token') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const input = JSON.parse(body) as { code?: string; code_verifier?: string; redirect_uri?: string };
        fake.exchanges.push(input);
        const grant = input.code === undefined ? undefined : codes.get(input.code);
        if (input.code !== undefined) codes.delete(input.code);
        const verified =
          grant !== undefined &&
          grant.redirectUri === input.redirect_uri &&
          createHash('sha256').update(input.code_verifier ?? '').digest('base64url') === grant.challenge;
        if (!verified) {
          response
            .writeHead(400, { 'content-type': 'application/problem+json' })
            .end(JSON.stringify({ type: '/docs/errors/invalid-grant', title: 'Invalid grant', status: 400, code: 'INVALID_GRANT' }));
          return;
        }
        response
          .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify({ token: fake.token, id: 'tok_fake', name: 'cli@test-host', expiresAt: new Date(Date.now() + 180 * 86_400_000).toISOString() }));
      });
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
