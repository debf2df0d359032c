/**
 * `/` until the web console is built in: who is signed in, and a way out. The console issue
 * replaces this page with the single-page app.
 */
import { SESSION_COOKIE } from '@latchkey/contract';
import type { Domain } from '../../domain/index.js';
import { html, sendPage } from '../pages.js';
import type { ZodApp } from '../zod-app.js';

export function registerHomeRoutes(app: ZodApp, { domain }: { domain: Domain }): void {
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const sessionId = request.cookies[SESSION_COOKIE];
    const session = sessionId ? await domain.sessions.authenticate(sessionId) : undefined;
    if (!session) return reply.redirect('/auth/sign-in', 302);
    const who = session.account.email ?? session.account.name ?? 'your account';
    return sendPage(
      reply,
      200,
      'Latchkey',
      html`<h1>Signed in</h1>
        <p>You are signed in as <strong>${who}</strong>.</p>
        <p>Create personal access tokens with <code>POST /api/v1/tokens</code> (send the <code>csrfToken</code>
          from <code>GET /api/v1/me</code> as <code>X-CSRF-Token</code>).</p>
        <form method="post" action="/auth/sign-out" class="actions">
          <input type="hidden" name="csrfToken" value="${session.csrfToken}">
          <button type="submit" class="secondary">Sign out</button>
        </form>`,
    );
  });
}
