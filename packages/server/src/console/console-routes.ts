/**
 * The web console (packages/web, built by Vite into packages/web/dist): index.html for `/` and
 * each client-side route, hashed files under /assets/. Every HTML response carries a fresh CSP
 * nonce on its <script>/<link> tags and `script-src 'nonce-…' 'strict-dynamic'`: nothing inline
 * runs, nothing frames the console (docs/security.md, item 37). /api, /auth, /docs, /healthz and /readyz
 * are never shadowed: only the paths listed here answer with the console.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { html, sendPage } from '../http/pages.js';
import type { ZodApp } from '../http/zod-app.js';

// src/console and dist/console sit at the same depth below packages/server.
const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** The console's client-side routes (packages/web/src/app.tsx); each gets index.html. */
export const CONSOLE_PATHS = [
  '/',
  '/sign-in',
  '/settings',
  '/settings/tokens',
  '/settings/tokens/:id',
  '/settings/notifications',
  '/settings/webhooks',
  '/namespaces',
  '/admin',
  '/admin/accounts',
  '/admin/tokens',
  '/admin/audit',
  '/admin/service-accounts',
  '/admin/policy',
  '/admin/throttles',
] as const;

const ONE_YEAR_S = 31_536_000;
const ONE_DAY_S = 86_400;

export interface ConsoleRouteDeps {
  /** The Vite build output (index.html + assets/); default packages/web/dist. */
  directory?: string;
  publicUrl: string;
}

export function consoleContentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'nonce-${nonce}' 'strict-dynamic'`,
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

export async function registerConsoleRoutes(app: ZodApp, deps: ConsoleRouteDeps): Promise<void> {
  const directory = deps.directory ?? DEFAULT_CONSOLE_DIR;
  const indexFile = join(directory, 'index.html');
  const built = existsSync(indexFile);
  const overTls = new URL(deps.publicUrl).protocol === 'https:';

  const securityHeaders = (request: FastifyRequest, reply: FastifyReply) => {
    reply
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin');
    if (overTls || request.protocol === 'https') {
      reply.header('strict-transport-security', `max-age=${ONE_YEAR_S}; includeSubDomains`);
    }
  };

  const sendConsole = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!built) {
      securityHeaders(request, reply);
      return sendPage(
        reply,
        503,
        'Console not built',
        html`<h1>The web console is not built</h1>
          <p>Build it with <code>npm run build</code> at the repository root, then restart the server.</p>`,
      );
    }
    // Read per response (it is tiny): a rebuild of the console never leaves stale asset names.
    const template = await readFile(indexFile, 'utf8');
    const nonce = randomBytes(16).toString('base64');
    const page = template.replace(/<(script|link)\b/g, `<$1 nonce="${nonce}"`);
    securityHeaders(request, reply);
    return reply
      .header('content-security-policy', consoleContentSecurityPolicy(nonce))
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(page);
  };

  for (const path of CONSOLE_PATHS) app.get(path, { schema: { hide: true } }, sendConsole);

  // The icon (packages/web/public/favicon.svg), under the name every page links and the one
  // browsers ask for on their own. Not hashed, so cached for a day rather than for good.
  const faviconFile = join(directory, 'favicon.svg');
  if (existsSync(faviconFile)) {
    const favicon = await readFile(faviconFile);
    const sendFavicon = async (request: FastifyRequest, reply: FastifyReply) => {
      securityHeaders(request, reply);
      return reply
        .header('content-security-policy', "default-src 'none'")
        .header('cache-control', `public, max-age=${ONE_DAY_S}`)
        .type('image/svg+xml')
        .send(favicon);
    };
    for (const path of ['/favicon.svg', '/favicon.ico']) app.get(path, { schema: { hide: true } }, sendFavicon);
  }

  if (built) {
    await app.register(fastifyStatic, {
      root: join(directory, 'assets'),
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      wildcard: true,
      // The build writes .br/.gz next to each script and stylesheet (packages/web/scripts).
      preCompressed: true,
      // Hashed file names: a new build means new names, so they may be cached for good.
      immutable: true,
      maxAge: ONE_YEAR_S * 1000,
      setHeaders: (reply) => {
        reply.header('x-content-type-options', 'nosniff').header('cross-origin-resource-policy', 'same-origin');
      },
    });
  }
}
