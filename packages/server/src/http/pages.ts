/**
 * The few server-rendered HTML pages of sign-in (the console is a separate app). No scripts at
 * all; every interpolated value is escaped; a strict CSP with a per-response nonce for the one
 * inline style block, and no framing.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { escapeHtml, html, SafeHtml } from '../kernel/html.js';

/** HSTS for responses served over TLS: one year, the floor docs/security.md, item 37 sets. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1b1f24; }
  main { max-width: 28rem; margin: 12vh auto; padding: 2rem; background: #fff; border-radius: 12px;
         box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  h1 { font-size: 1.35rem; margin: 0 0 1rem; }
  button, .button { font: inherit; padding: .6rem 1.2rem; border-radius: 8px; border: 1px solid #1f6feb;
         background: #1f6feb; color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
  button.secondary { background: #fff; color: #1f6feb; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  code { background: #eef0f3; padding: .1rem .3rem; border-radius: 4px; }
  .error { color: #b42318; }
`;

/** Sends a full page with the security headers every HTML response needs. */
export function sendPage(reply: FastifyReply, status: number, title: string, body: SafeHtml): FastifyReply {
  const nonce = randomBytes(16).toString('base64');
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Latchkey</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style nonce="${nonce}">${new SafeHtml(STYLE)}</style>
</head>
<body><main>${body}</main></body>
</html>
`;
  return reply
    .code(status)
    .header(
      'content-security-policy',
      [
        "default-src 'none'",
        "script-src 'none'",
        `style-src 'nonce-${nonce}'`,
        "img-src 'self'",
        // The CLI-login consent form redirects to the CLI's loopback listener. A source cannot
        // name [::1] (browsers ignore it): that case goes through a page (sign-in-routes.ts).
        "form-action 'self' http://127.0.0.1:*",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
      ].join('; '),
    )
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(page.value);
}

export { escapeHtml, html, SafeHtml };
