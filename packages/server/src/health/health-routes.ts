/** Liveness (the process answers) and readiness (the database answers too). */
import { sendProblem } from '../http/problem.js';
import type { ZodApp } from '../http/zod-app.js';
import type { ReadinessService } from './readiness.js';

export function registerHealthRoutes(app: ZodApp, { readiness }: { readiness: ReadinessService }): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    try {
      await readiness.check();
      return { status: 'ok' };
    } catch (error) {
      request.log.warn({ err: error }, 'not ready: database unavailable');
      return sendProblem(reply, 'UNAVAILABLE', { detail: 'The database is unavailable.' });
    }
  });
}
