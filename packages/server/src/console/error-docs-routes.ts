/**
 * The error reference that problem `type` URIs point at (`/docs/errors/<slug>`), served from
 * docs/errors.md so the documentation and the running server cannot disagree.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ZodApp } from '../http/zod-app.js';

// src/console and dist/console sit at the same depth below the repository root.
const ERRORS_DOC = new URL('../../../../docs/errors.md', import.meta.url);

export function registerErrorDocsRoutes(app: ZodApp): void {
  let cached: Promise<string> | undefined;

  app.get('/docs/errors', { schema: { hide: true } }, async (_request, reply) => {
    cached ??= readFile(ERRORS_DOC, 'utf8');
    // nosniff: Markdown that quotes HTML must never be rendered as a page.
    return reply.type('text/markdown; charset=utf-8').header('x-content-type-options', 'nosniff').send(await cached);
  });

  app.get(
    '/docs/errors/:slug',
    { schema: { hide: true, params: z.object({ slug: z.string() }) } },
    async (request, reply) =>
      /^[a-z-]{1,40}$/.test(request.params.slug)
        ? reply.redirect(`/docs/errors#${request.params.slug}`)
        : reply.callNotFound(),
  );
}
