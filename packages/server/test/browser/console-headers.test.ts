/**
 * The console route through `app.inject` (no browser needed): which paths get the console,
 * which never do, and the headers on every HTML response (docs/security.md, items 29 and 37).
 */
import { tokenScannerRegExp } from '@latchkey/contract';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_PATHS } from '../../src/console/console-routes.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { ensureBuilt } from './support/server.js';

describe('console route', () => {
  let app: TestApp;
  beforeAll(() => ensureBuilt(), 120_000);
  afterEach(() => app.close());

  async function freshApp() {
    const database = openDatabase('sqlite::memory:');
    await database.migrate();
    app = await createTestApp(database);
    return app;
  }

  it('answers every client-side route with index.html and strict headers (HSTS: PUBLIC_URL is https)', async () => {
    await freshApp();
    const session = await app.signIn();
    await app.createToken(session, 'shown once');
    const nonces = new Set<string>();
    for (const url of CONSOLE_PATHS) {
      const response = await app.http.inject({ url, headers: { cookie: session.cookie } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/]+={0,2}' 'strict-dynamic'/);
      for (const directive of ["default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) {
        expect(csp).toContain(directive);
      }
      expect(csp).not.toContain('unsafe');
      nonces.add(/'nonce-([^']+)'/.exec(csp)![1]!);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['strict-transport-security']).toMatch(/max-age=(\d+)/);
      expect(Number(/max-age=(\d+)/.exec(String(response.headers['strict-transport-security']))![1])).toBeGreaterThanOrEqual(31_536_000);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toContain('<div id="root"></div>');
      expect(response.body).not.toMatch(/<script\b[^>]*>\s*[^<\s]/); // no inline script
      expect(response.body.match(tokenScannerRegExp())).toBeNull();
    }
    expect(nonces.size).toBe(CONSOLE_PATHS.length);
  });

  it('serves hashed assets immutable, and never shadows the API, sign-in, docs or health routes', async () => {
    await freshApp();
    const index = (await app.http.inject({ url: '/' })).body;
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(index)![1]!;
    const asset = await app.http.inject({ url: script });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(asset.headers['x-content-type-options']).toBe('nosniff');
    const compressed = await app.http.inject({ url: script, headers: { 'accept-encoding': 'br, gzip' } });
    expect(compressed.headers['content-encoding']).toBe('br');
    expect(compressed.rawPayload.length).toBeLessThan(asset.rawPayload.length / 2);

    const missing = await app.http.inject({ url: '/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/problem\+json/);
    for (const url of ['/api/v1/nope', '/auth/nope', '/docs/nope', '/settings/nope', '/index.html']) {
      const response = await app.http.inject({ url });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers['content-type'], url).toMatch(/problem\+json/);
    }
    expect((await app.http.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.http.inject({ url: '/api/v1/me' })).statusCode).toBe(401);
    expect((await app.http.inject({ url: '/auth/sign-in' })).headers['content-type']).toMatch(/text\/html/);
  });

  it('tells the sign-in page how to sign in: one-time links unless OpenID Connect is configured', async () => {
    await freshApp();
    const response = await app.http.inject({ url: '/api/v1/sign-in-options' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ oidc: null });
  });
});
