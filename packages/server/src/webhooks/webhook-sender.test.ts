/**
 * The webhook sender's SSRF rule (docs/security.md, item 53) against real sockets: a receiver on
 * loopback that would answer every request, and names resolved by a test resolver whose answers
 * the sender checks exactly as it checks DNS's. Each refusal has a control: the same request
 * reaches the receiver when the operator allows private targets.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookSender, isRefusedHost } from './webhook-sender.js';

const ADDRESS_REFUSED = 'address not allowed (private, loopback, link-local, multicast or metadata)';

/** Test names and what they resolve to. */
const NAMES: Record<string, string> = {
  'receiver.test': '127.0.0.1',
  'loopback.example.test': '127.0.0.1',
  'internal.example.test': '10.20.30.40',
  'metadata.example.test': '169.254.169.254',
};
const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  const address = NAMES[hostname];
  if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
  if (options.all) return callback(null, [{ address, family: 4 }]);
  return callback(null, address, 4);
}) as unknown as LookupFunction;

describe('webhook sender', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];
  const bodies: string[] = [];
  let route: (request: IncomingMessage, response: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((request, response) => {
      hits.push(request.url ?? '');
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        route(request, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    hits.length = 0;
    bodies.length = 0;
    route = (_request, response) => response.writeHead(200).end('ok');
  });

  const request = (url: string) => ({ url, body: '{"type":"token.created"}', headers: { 'webhook-id': 'msg_1' } });
  const strict = createWebhookSender({ allowPrivate: false, lookup, timeoutMs: 5_000 });
  const permissive = createWebhookSender({ allowPrivate: true, lookup, timeoutMs: 5_000 });
  /** Reaches the receiver through `receiver.test` only: every other private address stays refused. */
  const throughName = createWebhookSender({ allowPrivate: false, lookup, allowAddresses: ['127.0.0.1'], timeoutMs: 5_000 });

  it('refuses loopback, private, link-local and metadata addresses written in the URL, before connecting', async () => {
    for (const url of [
      `http://127.0.0.1:${port}/hook`,
      `http://[::1]:${port}/hook`,
      'http://10.0.0.1/hook',
      'http://172.16.5.4/hook',
      'http://192.168.0.1/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      `http://[::ffff:127.0.0.1]:${port}/hook`,
      'http://224.0.0.1/hook',
      `http://localhost:${port}/hook`,
      `http://localhost.:${port}/hook`,
      `http://2130706433:${port}/hook`,
      `http://0x7f.1:${port}/hook`,
    ]) {
      const response = await strict(request(url));
      expect(response, url).toMatchObject({ status: null, error: ADDRESS_REFUSED });
    }
    expect(hits).toEqual([]);
    // The control: the loopback receiver was there to answer.
    expect(await permissive(request(`http://127.0.0.1:${port}/hook`))).toMatchObject({ status: 200, error: null });
    expect(hits).toEqual(['/hook']);
  });

  it('refuses a name that resolves to loopback, private or metadata addresses, after resolving it', async () => {
    for (const host of ['loopback.example.test', 'internal.example.test', 'metadata.example.test']) {
      expect(isRefusedHost(host), host).toBe(false);
      const response = await strict(request(`http://${host}:${port}/hook`));
      expect(response, host).toMatchObject({ status: null, error: ADDRESS_REFUSED });
    }
    expect(hits).toEqual([]);
    expect(await permissive(request(`http://loopback.example.test:${port}/hook`))).toMatchObject({ status: 200, error: null });
    expect(hits).toEqual(['/hook']);
  });

  it('checks every redirect again: one to a private address or a name resolving to one is refused', async () => {
    route = (request, response) => {
      const targets: Record<string, string> = {
        '/to-literal': `http://127.0.0.1:${port}/final`,
        '/to-private': 'http://10.1.2.3/final',
        '/to-metadata-name': `http://metadata.example.test:${port}/final`,
        '/to-loopback-name': `http://loopback.example.test:${port}/final`,
      };
      const location = targets[request.url ?? ''];
      if (location) response.writeHead(307, { location }).end();
      else response.writeHead(200).end('final');
    };
    for (const path of ['/to-literal', '/to-private', '/to-metadata-name']) {
      const response = await throughName(request(`http://receiver.test:${port}${path}`));
      expect(response, path).toMatchObject({ status: null, error: ADDRESS_REFUSED });
    }
    expect(hits).toEqual(['/to-literal', '/to-private', '/to-metadata-name']);
    // The control: allowed, the same redirect is followed to the end.
    expect(await permissive(request(`http://receiver.test:${port}/to-loopback-name`))).toMatchObject({ status: 200, error: null, excerpt: 'final' });
  });

  it('follows at most three redirects, re-sending the same body', async () => {
    route = (request, response) => {
      const step = Number((request.url ?? '').split('/').at(-1));
      if (step < 10) response.writeHead(308, { location: `/hop/${step + 1}` }).end();
      else response.writeHead(204).end();
    };
    expect(await throughName(request(`http://receiver.test:${port}/hop/7`))).toMatchObject({ status: 204, error: null });
    expect(hits).toEqual(['/hop/7', '/hop/8', '/hop/9', '/hop/10']);
    expect(new Set(bodies)).toEqual(new Set(['{"type":"token.created"}']));
    hits.length = 0;
    expect(await throughName(request(`http://receiver.test:${port}/hop/6`))).toMatchObject({ status: 308, error: 'too many redirects' });
    expect(hits).toEqual(['/hop/6', '/hop/7', '/hop/8', '/hop/9']);
  });

  it('keeps only a short, printable excerpt of the response and names a failure without the URL', async () => {
    route = (_request, response) => response.writeHead(500).end(`oops\u0000\u001b[31m${'x'.repeat(5000)}`);
    const failed = await throughName(request(`http://receiver.test:${port}/secret-path?token=abc`));
    expect(failed.status).toBe(500);
    expect(failed.error).toBe('answered 500');
    expect(failed.excerpt!.length).toBeLessThanOrEqual(201);
    expect(failed.excerpt).toMatch(/^oops \[31mx+…$/);
    const refused = await throughName(request('http://receiver.test:1/secret-path?token=abc'));
    expect(refused).toMatchObject({ status: null, error: 'connection refused' });
    expect(JSON.stringify([failed, refused])).not.toContain('secret-path');
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    route = () => undefined; // never answers
    const quick = createWebhookSender({ allowPrivate: true, timeoutMs: 300 });
    expect(await quick(request(`http://127.0.0.1:${port}/slow`))).toMatchObject({ status: null, error: 'timed out' });
  });
});
