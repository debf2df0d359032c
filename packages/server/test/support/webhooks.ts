/**
 * Webhook tests' shared moves: create an endpoint through the API, read its deliveries, run the
 * job runner until something is true, and a real HTTP receiver on loopback that verifies each
 * request's signature with the Standard Webhooks reference library.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreateWebhookResponse, WebhookDeliveryView } from '@latchkey/contract';
import { Webhook } from 'standardwebhooks';
import type { TestApp, TestSession } from './app.js';

export async function createWebhook(app: TestApp, session: TestSession, body: Record<string, unknown>): Promise<CreateWebhookResponse> {
  const response = await app.http.inject({ method: 'POST', url: '/api/v1/webhooks', headers: session.headers, payload: body });
  if (response.statusCode !== 201) throw new Error(`creating a webhook failed: ${response.statusCode} ${response.body}`);
  return response.json<CreateWebhookResponse>();
}

export async function deliveriesOf(app: TestApp, session: TestSession, webhookId: string): Promise<WebhookDeliveryView[]> {
  const response = await app.http.inject({ url: `/api/v1/webhooks/${webhookId}/deliveries`, headers: session.headers });
  if (response.statusCode !== 200) throw new Error(`listing deliveries failed: ${response.statusCode} ${response.body}`);
  return response.json<{ deliveries: WebhookDeliveryView[] }>().deliveries;
}

/** Runs due jobs (the runner is not started in tests) until `done` answers true; generous, never timed. */
export async function runJobsUntil(
  app: TestApp,
  done: () => Promise<boolean> | boolean,
  options: { maxPasses?: number; describe?: () => unknown } = {},
): Promise<void> {
  const maxPasses = options.maxPasses ?? 50;
  for (let pass = 0; pass < maxPasses; pass += 1) {
    if (await done()) return;
    await app.services.jobs.runDue();
  }
  if (!(await done())) {
    throw new Error(`still not done after ${maxPasses} passes of the job runner: ${JSON.stringify(options.describe?.() ?? null)}`);
  }
}

/** A request as the receiver got it, with the outcome of verifying its signature. */
export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  /** The verified payload, or undefined when verification failed (`error` says why). */
  payload: { type: string; timestamp: string; data: Record<string, unknown> } | undefined;
  error: string | undefined;
}

export interface Receiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** What the next requests are answered with (default 204). */
  answer(status: number, body?: string): void;
  /** Stops listening (connections are then refused) and listens again on the same port. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A real receiver on 127.0.0.1 that verifies with `new Webhook(secret).verify(body, headers)`. */
export async function startReceiver(secret: () => string, path = '/hooks/latchkey'): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let status = 204;
  let responseBody = '';
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      let payload: ReceivedWebhook['payload'];
      let error: string | undefined;
      try {
        payload = new Webhook(secret()).verify(body, headers) as ReceivedWebhook['payload'];
      } catch (caught) {
        error = (caught as Error).message;
      }
      received.push({ headers, body, payload, error });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(responseBody);
    });
  };
  let server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    answer(next, body = '') {
      status = next;
      responseBody = body;
    },
    stop: async () => {
      server.closeAllConnections();
      await close();
    },
    async restart() {
      server = createServer(handle);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      server.closeAllConnections();
      if (server.listening) await close();
    },
  };
}
