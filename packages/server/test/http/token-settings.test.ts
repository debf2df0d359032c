/**
 * GET /api/v1/token-settings: the lifetimes the server allows under TOKEN_MAX_LIFETIME_DAYS,
 * which the console offers in its New Token dialog. Every choice it lists is one that
 * POST /api/v1/tokens accepts, and its default is what a token gets when none is asked for.
 */
import { DAY_MS, TOKEN_SCOPES, tokenSettingsSchema, type TokenSettingsView } from '@latchkey/contract';

/** Without a saved policy every scope is allowed. */
const allowedScopes = [...TOKEN_SCOPES];
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, createMemoryApp, type TestApp, type TestSession } from '../support/app.js';

let app: TestApp;
afterEach(() => app.close());

async function settingsFor(maxLifetimeDays: number): Promise<{ session: TestSession; settings: TokenSettingsView }> {
  app = await createMemoryApp({ settings: { maxLifetimeDays } });
  const session = await app.signIn();
  const response = await app.http.inject({ url: '/api/v1/token-settings', headers: { cookie: session.cookie } });
  expect(response.statusCode, response.body).toBe(200);
  return { session, settings: tokenSettingsSchema.parse(response.json()) };
}

describe('GET /api/v1/token-settings', () => {
  it('with the default maximum: the five presets, 180 days by default', async () => {
    const { settings } = await settingsFor(180);
    expect(settings).toEqual({ maxLifetimeDays: 180, defaultLifetimeDays: 180, lifetimeChoices: [7, 30, 60, 90, 180], allowedScopes });
  });

  it('with TOKEN_MAX_LIFETIME_DAYS=30: only 7 and 30, and 30 by default', async () => {
    const { settings } = await settingsFor(30);
    expect(settings).toEqual({ maxLifetimeDays: 30, defaultLifetimeDays: 30, lifetimeChoices: [7, 30], allowedScopes });
  });

  it('with a maximum between presets or above 180: the maximum is a choice, the default stays 180 or less', async () => {
    expect((await settingsFor(45)).settings).toEqual({ maxLifetimeDays: 45, defaultLifetimeDays: 45, lifetimeChoices: [7, 30, 45], allowedScopes });
    await app.close();
    expect((await settingsFor(365)).settings).toEqual({
      maxLifetimeDays: 365,
      defaultLifetimeDays: 180,
      lifetimeChoices: [7, 30, 60, 90, 180, 365],
      allowedScopes,
    });
  });

  it('lists exactly what token creation accepts, and its default is the lifetime a token gets without one', async () => {
    const { session, settings } = await settingsFor(365);
    for (const days of settings.lifetimeChoices) {
      const created = await app.createToken(session, `lifetime-${days}`, { expiresInDays: days });
      const lifetime = Date.parse(created.token.expiresAt) - Date.parse(created.token.createdAt);
      expect(lifetime).toBe(days * DAY_MS);
    }
    const refused = await app.http.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: session.headers,
      payload: { name: 'too-long', expiresInDays: settings.maxLifetimeDays + 1 },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const byDefault = await app.createToken(session, 'default');
    expect(Date.parse(byDefault.token.expiresAt) - Date.parse(byDefault.token.createdAt)).toBe(settings.defaultLifetimeDays * DAY_MS);
  });

  it('answers a personal access token too, and nobody without credentials', async () => {
    const { session, settings } = await settingsFor(30);
    const { secret } = await app.createToken(session, 'cli');
    const withToken = await app.http.inject({ url: '/api/v1/token-settings', headers: bearer(secret) });
    expect(withToken.statusCode).toBe(200);
    expect(withToken.json()).toEqual(settings);
    const anonymous = await app.http.inject({ url: '/api/v1/token-settings' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
