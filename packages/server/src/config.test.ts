import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to the embedded SQLite database on port 8080 with 180-day tokens', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      databaseUrl: 'sqlite:./data/latchkey.db',
      publicUrl: 'http://localhost:8080',
      tokenMaxLifetimeDays: 180,
      tokenMaxPerAccount: 100,
      trustProxy: false,
      logLevel: 'info',
      oidc: undefined,
      redisUrl: undefined,
    });
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PORT: '9000',
      PUBLIC_URL: 'https://latchkey.example.com/',
      DATABASE_URL: 'postgres://latchkey@db.internal:5432/latchkey',
      REDIS_URL: 'redis://127.0.0.1:6379',
      OIDC_ISSUER: 'https://accounts.example.com',
      OIDC_CLIENT_ID: 'latchkey',
      OIDC_CLIENT_SECRET: 's3cret',
      TOKEN_MAX_LIFETIME_DAYS: '90',
      TRUST_PROXY: '10.0.0.1, 10.0.0.2',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 9000,
      publicUrl: 'https://latchkey.example.com',
      databaseUrl: 'postgres://latchkey@db.internal:5432/latchkey',
      redisUrl: 'redis://127.0.0.1:6379',
      oidc: { issuer: 'https://accounts.example.com', clientId: 'latchkey', clientSecret: 's3cret' },
      tokenMaxLifetimeDays: 90,
      trustProxy: ['10.0.0.1', '10.0.0.2'],
      logLevel: 'debug',
    });
  });

  it('links OpenID Connect identities to existing accounts only when OIDC_LINK_EXISTING_ACCOUNTS=true', () => {
    const oidc = { OIDC_ISSUER: 'https://accounts.example.com', OIDC_CLIENT_ID: 'latchkey' };
    expect(loadConfig(oidc).oidc?.linkExistingAccounts).toBe(false);
    expect(loadConfig({ ...oidc, OIDC_LINK_EXISTING_ACCOUNTS: 'true' }).oidc?.linkExistingAccounts).toBe(true);
    expect(() => loadConfig({ ...oidc, OIDC_LINK_EXISTING_ACCOUNTS: 'yes' })).toThrow(/OIDC_LINK_EXISTING_ACCOUNTS/);
  });

  it('reads the per-account namespace limit, 100 unless NAMESPACE_MAX_PER_ACCOUNT says otherwise', () => {
    expect(loadConfig({}).namespaceMaxPerAccount).toBe(100);
    expect(loadConfig({ NAMESPACE_MAX_PER_ACCOUNT: '25' }).namespaceMaxPerAccount).toBe(25);
    expect(() => loadConfig({ NAMESPACE_MAX_PER_ACCOUNT: '0' })).toThrow(/NAMESPACE_MAX_PER_ACCOUNT/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '' }).port).toBe(8080);
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://localhost/x',
        TOKEN_MAX_LIFETIME_DAYS: '0',
        LOG_LEVEL: 'loud',
        OIDC_ISSUER: 'https://accounts.example.com',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const variable of ['PORT', 'DATABASE_URL', 'TOKEN_MAX_LIFETIME_DAYS', 'LOG_LEVEL', 'OIDC_CLIENT_ID']) {
      expect(problems).toContain(variable);
    }
    expect((error as ConfigError).problems).toHaveLength(5);
  });

  it('reads SMTP_URL and MAIL_FROM for email notifications, off without them', () => {
    expect(loadConfig({}).smtp).toBeUndefined();
    for (const url of ['smtp://user:pass@mail.internal:587', 'smtps://user:pass@mail.internal:465', 'smtp://127.0.0.1:25']) {
      expect(loadConfig({ SMTP_URL: url, MAIL_FROM: 'Latchkey <latchkey@example.com>' }).smtp).toEqual({ url, from: 'Latchkey <latchkey@example.com>' });
    }
    expect(loadConfig({ SMTP_URL: 'smtp://mail.internal', MAIL_FROM: 'latchkey@example.com' }).smtp?.from).toBe('latchkey@example.com');
  });

  it('refuses an SMTP_URL that is not smtp:// or smtps://, a MAIL_FROM that is no address, and either without the other', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ SMTP_URL: 'https://mail.internal', MAIL_FROM: 'a@example.com' })).toEqual(['SMTP_URL: must be an smtp:// or smtps:// URL']);
    expect(problems({ SMTP_URL: 'smtp://mail.internal' })).toEqual(['MAIL_FROM: is required when SMTP_URL is set (the sender of the notification emails)']);
    expect(problems({ MAIL_FROM: 'a@example.com' })).toEqual(['SMTP_URL: is required when MAIL_FROM is set']);
    expect(problems({ SMTP_URL: 'smtp://mail.internal', MAIL_FROM: 'Latchkey' })).toEqual([
      'MAIL_FROM: must be an address, e.g. latchkey@example.com or "Latchkey <latchkey@example.com>"',
    ]);
  });

  it('refuses private webhook targets unless WEBHOOK_ALLOW_PRIVATE=true', () => {
    expect(loadConfig({}).webhookAllowPrivate).toBe(false);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'false' }).webhookAllowPrivate).toBe(false);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'true' }).webhookAllowPrivate).toBe(true);
    expect(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'yes' })).toThrow(/WEBHOOK_ALLOW_PRIVATE/);
  });
});
