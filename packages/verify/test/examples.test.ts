/**
 * The recipe in packages/verify/README.md (and the Node part of the root README's "Protect a
 * service with Latchkey tokens") is the code in examples/, word for word; each example runs here
 * as its own process, with the built @latchkey/verify, in front of the real server binary:
 * no token, a revoked token, a missing scope or another namespace get Latchkey's own 401/403
 * with its challenge; a valid token gets through with its identity.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, killOnExit } from '../../server/test/support/server-process.mjs';
import { buildVerify, startLatchkey, waitFor, type Latchkey } from './support.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const EXAMPLES = ['fastify-service.mjs', 'express-service.mjs'];
const source = (name: string) => readFileSync(here(`../examples/${name}`), 'utf8');

describe('the READMEs show the examples word for word', () => {
  it('packages/verify/README.md holds every example in a js block', () => {
    const readme = readFileSync(here('../README.md'), 'utf8');
    for (const name of EXAMPLES) expect(readme, name).toContain(`\`\`\`js\n${source(name).trimEnd()}\n\`\`\``);
  });

  it("the root README's Node recipe is the Fastify example", () => {
    const readme = readFileSync(here('../../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Node (@latchkey/verify)'));
    expect(section.length).toBeLessThan(readme.length);
    expect(section).toContain(`\`\`\`js\n${source('fastify-service.mjs').trimEnd()}\n\`\`\``);
  });
});

describe.each(EXAMPLES)('examples/%s in front of latchkey-server', (name) => {
  let latchkey: Latchkey;
  let service: { base: string; output(): string; stop(): Promise<void> };

  beforeAll(async () => {
    buildVerify();
    latchkey = await startLatchkey('sqlite');
    const serviceToken = (await latchkey.createToken({ name: 'example-service', scopes: ['introspect'] })).secret;
    const port = await freePort();
    const child = killOnExit(
      spawn(process.execPath, [here(`../examples/${name}`)], {
        env: { PATH: process.env.PATH ?? '', LATCHKEY_URL: latchkey.base, LATCHKEY_TOKEN: serviceToken, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    service = {
      base: `http://127.0.0.1:${port}`,
      output: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      },
    };
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
      return fetch(`${service.base}/whoami`).then(
        (response) => response.arrayBuffer().then(() => true),
        () => false,
      );
    }, `${name} to listen`);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await latchkey?.close();
  }, 30_000);

  const call = async (method: string, path: string, secret?: string) => {
    const response = await fetch(`${service.base}${path}`, { method, headers: secret ? { authorization: `Bearer ${secret}` } : {} });
    const text = await response.text();
    return { status: response.status, challenge: response.headers.get('www-authenticate'), type: response.headers.get('content-type'), text };
  };

  it('lets a valid token through with its identity, and answers no token as Latchkey does', async () => {
    const token = await latchkey.createToken({ name: 'caller', scopes: ['namespaces:read'] });
    const ok = await call('GET', '/whoami', token.secret);
    expect(ok.status, service.output()).toBe(200);
    expect(JSON.parse(ok.text)).toMatchObject({ token: token.id, account: expect.any(String) });

    const anonymous = await call('GET', '/whoami');
    expect(anonymous.status).toBe(401);
    expect(anonymous.challenge).toBe('Bearer realm="api"');
    expect(anonymous.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(anonymous.text)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('refuses a token without namespaces:write or for another namespace with 403, and a revoked one with 401', async () => {
    const preview = await latchkey.createToken({ name: 'preview-ci', scopes: ['namespaces:write'], namespaces: ['preview-*'] });
    const readOnly = await latchkey.createToken({ name: 'read-only', scopes: ['namespaces:read'] });
    const deployed = await call('POST', '/ns/preview-42/deploy', preview.secret);
    expect(deployed.status, service.output()).toBe(200);
    expect(JSON.parse(deployed.text)).toMatchObject({ deployed: 'preview-42' });

    const elsewhere = await call('POST', '/ns/prod/deploy', preview.secret);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.challenge).toBe('Bearer realm="api", error="insufficient_scope", scope="namespaces:write"');
    expect(JSON.parse(elsewhere.text)).toMatchObject({ code: 'INSUFFICIENT_SCOPE', requiredScope: 'namespaces:write', namespace: 'prod' });
    const readOnlyDeploy = await call('POST', '/ns/preview-42/deploy', readOnly.secret);
    expect(readOnlyDeploy.status).toBe(403);
    expect((await call('GET', '/whoami', readOnly.secret)).status).toBe(200);

    expect(await latchkey.revoke(preview.id)).toBe(204);
    // The example's verifier hears of the revoke on its stream; poll until it has.
    await waitFor(async () => (await call('GET', '/whoami', preview.secret)).status === 401, 'the revoked token to be refused');
    const revoked = await call('GET', '/whoami', preview.secret);
    expect(revoked.challenge).toBe('Bearer realm="api", error="invalid_token", error_description="The access token is invalid"');
    expect(JSON.parse(revoked.text)).toMatchObject({ code: 'INVALID_TOKEN' });
  });
});
