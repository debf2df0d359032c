/**
 * A real OpenID Connect provider (`oidc-provider`) on loopback for the sign-in tests, with
 * login and consent answered automatically for a chosen subject, and a tiny "browser" that
 * follows redirects through it with its own cookie jar.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export const TEST_CLIENT_ID = 'latchkey-test';
export const TEST_CLIENT_SECRET = 'latchkey-test-secret-latchkey-test-secret';

export interface TestProvider {
  issuer: string;
  /** Who the next login signs in as. */
  subject: string;
  /**
   * Claims that replace the defaults (`<subject>@example.test`, verified, `User <subject>`) for
   * the next logins, per place they are read from: the ID token or the UserInfo endpoint.
   */
  claims?: (use: 'id_token' | 'userinfo', subject: string) => Record<string, unknown>;
  close(): Promise<void>;
}

export interface TestProviderOptions {
  /**
   * Put the profile and email claims in the ID token too. By default (oidc-provider's
   * `conformIdTokenClaims`) they are only behind UserInfo, as many providers do.
   */
  claimsInIdToken?: boolean;
}

export async function startTestProvider(redirectUri: string, options: TestProviderOptions = {}): Promise<TestProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: TestProvider = { issuer, subject: 'alice', close: async () => undefined };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: TEST_CLIENT_ID,
        client_secret: TEST_CLIENT_SECRET,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: !options.claimsInIdToken,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['test-cookie-key-test-cookie-key'] },
    findAccount: async (_ctx, sub) => ({
      accountId: sub,
      claims: async (use: string) => ({
        email: `${sub}@example.test`,
        email_verified: true,
        name: `User ${sub}`,
        ...state.claims?.(use === 'id_token' ? 'id_token' : 'userinfo', sub),
        sub,
      }),
    }),
  });
  const callback = provider.callback();

  /** Login and consent, answered at once for `state.subject`. */
  async function interact(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(req, res, { login: { accountId: state.subject } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = new provider.Grant({
      accountId: details.session!.accountId,
      clientId: details.params.client_id as string,
    });
    grant.addOIDCScope('openid email profile');
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interact(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    void callback(req, res);
  });

  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/**
 * Follows redirects from `url` through the provider (keeping its cookies) until one leads
 * back to `stopAtOrigin`; returns that URL, which the test then hands to the app.
 */
export async function followToApp(url: string, stopAtOrigin: string): Promise<URL> {
  const jar = new Map<string, string>();
  let current = new URL(url);
  for (let hop = 0; hop < 20; hop++) {
    if (current.origin === stopAtOrigin) return current;
    const response = await fetch(current, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const index = pair!.indexOf('=');
      jar.set(pair!.slice(0, index), pair!.slice(index + 1));
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`provider stopped at ${current.href} with ${response.status}: ${await response.text()}`);
    current = new URL(location, current);
  }
  throw new Error('too many redirects');
}
