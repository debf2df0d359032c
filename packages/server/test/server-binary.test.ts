/**
 * The real `latchkey-server` binary (the build output), as an operator runs it: started,
 * probed over HTTP, stopped with SIGTERM; misconfigured. (A database that is down at start-up:
 * test/faults/startup-checks.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MeResponse } from '@latchkey/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureServerBuilt, serverBinary as binary, startServer } from './support/server-process.mjs';

let workDir: string;

beforeAll(() => {
  ensureServerBuilt();
  workDir = mkdtempSync(join(tmpdir(), 'latchkey-binary-'));
}, 120_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('latchkey-server', () => {
  it('serves on SQLite by default settings, answers R-NOAUTH exactly, and stops cleanly on SIGTERM', async () => {
    const server = await startServer({ env: { DATABASE_URL: `sqlite:${join(workDir, 'serve', 'latchkey.db')}` } });
    try {
      const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);

      const me = await fetch(`http://127.0.0.1:${server.port}/api/v1/me`);
      expect(me.status).toBe(401);
      expect(me.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      expect(me.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await me.json()).toEqual({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'UNAUTHENTICATED' });

      expect(existsSync(join(workDir, 'serve', 'latchkey.db'))).toBe(true);
    } finally {
      await server.stop();
    }
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('"msg":"stopped"');
    // No SMTP_URL: said once at start (docs/notifications.md).
    expect(server.output().match(/email notifications are off: SMTP_URL is not set/g)).toHaveLength(1);
  });

  it('with SMTP_URL, never prints the SMTP password and does not say email is off', async () => {
    const server = await startServer({
      env: {
        DATABASE_URL: `sqlite:${join(workDir, 'smtp', 'latchkey.db')}`,
        SMTP_URL: 'smtps://latchkey:smtp-password-never-logged@mail.invalid:465',
        MAIL_FROM: 'Latchkey <latchkey@example.test>',
        LOG_LEVEL: 'debug',
      },
    });
    try {
      expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);
    } finally {
      await server.stop();
    }
    expect(server.output()).not.toContain('smtp-password-never-logged');
    expect(server.output()).not.toContain('email notifications are off');
  });

  it('prints the first administrator a one-time sign-in link until one has signed in; signin-link prints more', async () => {
    const dir = join(workDir, 'first-admin');
    const env = { DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`, PUBLIC_URL: 'http://localhost:9999' };
    const first = await startServer({ env });
    let link: string;
    try {
      const match = /^Sign-in link: (http:\/\/localhost:9999\/auth\/link\/lk_link_[0-9a-f]{64})$/m.exec(first.output());
      expect(match).not.toBeNull();
      link = match![1]!;
      const path = new URL(link).pathname;
      const base = `http://127.0.0.1:${first.port}`;
      expect((await fetch(`${base}${path}`)).status).toBe(200);
      const signIn = await fetch(`${base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      expect(signIn.status).toBe(303);
      const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
      const me = (await (await fetch(`${base}/api/v1/me`, { headers: { cookie } })).json()) as MeResponse;
      expect(me.account.isAdmin).toBe(true);
      // The link's secret reaches stdout once, as the Sign-in line, and never a log line.
      expect(first.output().split(link.split('/').pop()!).length).toBe(2);
    } finally {
      await first.stop();
    }
    expect(await first.exited).toEqual({ code: 0, signal: null });

    const second = await startServer({ env });
    await second.stop();
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.output()).not.toContain('Sign-in link:');

    const cli = spawnSync(process.execPath, [binary, 'signin-link', '--email', 'new@example.test'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout.trim()).toMatch(/^http:\/\/localhost:9999\/auth\/link\/lk_link_[0-9a-f]{64}$/);
    const usage = spawnSync(process.execPath, [binary, 'signin-link', '--bogus'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
    expect(usage.status).toBe(2);
  });

  it('refuses bad configuration, listing every problem, with exit code 1', () => {
    const result = spawnSync(process.execPath, [binary], {
      env: { PATH: process.env.PATH ?? '', PORT: 'eighty', DATABASE_URL: 'mysql://db/x', LOG_LEVEL: 'loud', SMTP_URL: 'https://mail.example.test' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    for (const variable of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'SMTP_URL', 'MAIL_FROM']) expect(result.stderr).toContain(variable);
  });

  it('migrates and exits with `migrate`; rejects unknown commands with exit code 2', () => {
    const env = { PATH: process.env.PATH ?? '', DATABASE_URL: `sqlite:${join(workDir, 'migrate.db')}` };
    const migrate = spawnSync(process.execPath, [binary, 'migrate'], { env, encoding: 'utf8' });
    expect(migrate.status).toBe(0);
    expect(existsSync(join(workDir, 'migrate.db'))).toBe(true);
    const unknown = spawnSync(process.execPath, [binary, 'frobnicate'], { env, encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('Usage: latchkey-server');
  });
});
