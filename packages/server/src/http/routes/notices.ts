/**
 * Notices for the signed-in owner, shown in the console until dismissed (like GitHub's
 * security banners): today, tokens revoked because someone reported them as leaked.
 */
import { noticeListSchema } from '@latchkey/contract';
import { z } from 'zod';
import type { Clock } from '../../domain/clock.js';
import { AppError } from '../../domain/index.js';
import { isId } from '../../domain/ids.js';
import type { Store } from '../../store/store.js';
import { principalOf } from '../authenticate.js';
import { presentNotice } from '../presenters.js';
import type { ZodApp } from '../zod-app.js';

const noticeIdParams = z.object({ id: z.string() });

export function registerNoticeRoutes(app: ZodApp, { store, clock }: { store: Store; clock: Clock }): void {
  app.get(
    '/api/v1/notices',
    {
      config: { auth: 'session' },
      schema: {
        summary: "The caller's notices not yet dismissed, newest first",
        tags: ['account'],
        response: { 200: noticeListSchema },
      },
    },
    async (request) => {
      const notices = await store.listNotices(principalOf(request).account.id);
      return { notices: notices.map(presentNotice) };
    },
  );

  app.post(
    '/api/v1/notices/:id/dismiss',
    {
      config: { auth: 'session' },
      schema: { summary: 'Dismiss one of the caller’s notices', tags: ['account'], params: noticeIdParams },
    },
    async (request, reply) => {
      const { id } = request.params;
      const dismissed = isId(id) && (await store.dismissNotice(principalOf(request).account.id, id, clock.now()));
      if (!dismissed) throw new AppError('NOT_FOUND', 'No such notice.');
      return reply.code(204).send();
    },
  );
}
