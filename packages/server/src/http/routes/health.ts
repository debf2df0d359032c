/** Liveness (the process answers) and readiness (the database answers too). */
import type { Store } from '../../store/store.js';
import { sendProblem } from '../problem.js';
import type { ZodApp } from '../zod-app.js';

export function registerHealthRoutes(app: ZodApp, { store }: { store: Store }): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    try {
      await store.ping();
      return { status: 'ok' };
    } catch (error) {
      request.log.warn({ err: error }, 'not ready: database unavailable');
      return sendProblem(reply, 'UNAVAILABLE', { detail: 'The database is unavailable.' });
    }
  });
}
