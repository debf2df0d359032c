/** The signed-in owner's notices, until dismissed. */
import { noticeListSchema, type NoticeView } from '@latchkey/contract';
import { z } from 'zod';
import { principalOf } from '../http/principal.js';
import { iso, isoOrNull } from '../http/timestamps.js';
import type { ZodApp } from '../http/zod-app.js';
import type {
  ChangedByAdminNoticeDetail,
  NoticeRecord,
  OutsideAllowlistNoticeDetail,
  ReportedTokensNoticeDetail,
  RevokedByAdminNoticeDetail,
  RevokedIdleNoticeDetail,
  WebhookDisabledNoticeDetail,
} from './notice.js';
import type { NoticeService } from './notice-service.js';

const noticeIdParams = z.object({ id: z.string() });

function presentNotice(notice: NoticeRecord): NoticeView {
  if (notice.kind === 'token_outside_allowlist') {
    const { token, ip } = notice.detail as unknown as OutsideAllowlistNoticeDetail;
    return { id: notice.id, kind: notice.kind, createdAt: iso(notice.createdAt), token, ip };
  }
  if (notice.kind === 'token_revoked_by_admin') {
    const { token } = notice.detail as unknown as RevokedByAdminNoticeDetail;
    return { id: notice.id, kind: notice.kind, createdAt: iso(notice.createdAt), token };
  }
  if (notice.kind === 'tokens_revoked_idle') {
    const { tokens, idleDays } = notice.detail as unknown as RevokedIdleNoticeDetail;
    return { id: notice.id, kind: notice.kind, createdAt: iso(notice.createdAt), tokens, idleDays };
  }
  if (notice.kind === 'account_changed_by_admin') {
    const { change, name } = notice.detail as unknown as ChangedByAdminNoticeDetail;
    return change === 'renamed'
      ? { id: notice.id, kind: notice.kind, createdAt: iso(notice.createdAt), change, name: name ?? null }
      : { id: notice.id, kind: notice.kind, createdAt: iso(notice.createdAt), change };
  }
  if (notice.kind === 'webhook_disabled') {
    const { webhook, failingSince } = notice.detail as unknown as WebhookDisabledNoticeDetail;
    return { id: notice.id, kind: notice.kind, createdAt: iso(notice.createdAt), webhook, failingSince: isoOrNull(failingSince) };
  }
  const { tokens } = notice.detail as unknown as ReportedTokensNoticeDetail;
  return { id: notice.id, kind: notice.kind, createdAt: iso(notice.createdAt), tokens };
}

export function registerNoticeRoutes(app: ZodApp, { notices }: { notices: NoticeService }): void {
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
      const listed = await notices.list(principalOf(request).account.id);
      return { notices: listed.map(presentNotice) };
    },
  );

  app.post(
    '/api/v1/notices/:id/dismiss',
    {
      config: { auth: 'session' },
      schema: { summary: 'Dismiss one of the caller’s notices', tags: ['account'], params: noticeIdParams },
    },
    async (request, reply) => {
      await notices.dismiss(principalOf(request).account.id, request.params.id);
      return reply.code(204).send();
    },
  );
}
