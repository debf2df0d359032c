/** A token's optional note ("where is this token used?"): stored, listed and shown; refused over 200 characters. */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { appForEachTest, bearer, type TestApp } from '../support/app.js';
import { describeEachBackend, type BackendContext } from '../support/databases.js';

async function tokenRows(ctx: BackendContext): Promise<number> {
  const [row] = (await ctx.exec(sql`select count(*) as n from tokens`)) as Array<{ n: number | string }>;
  return Number(row!.n);
}

describeEachBackend('a token note', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  it('is stored trimmed, and listed, shown by id and shown to the token itself', async () => {
    const session = await app.signIn();
    const { token, secret } = await app.createToken(session, 'deploy', { note: '  GitHub Actions in acme/web  ' });
    expect(token.note).toBe('GitHub Actions in acme/web');

    const list = await app.http.inject({ url: '/api/v1/tokens', headers: { cookie: session.cookie } });
    expect(list.json().tokens).toEqual([expect.objectContaining({ id: token.id, note: 'GitHub Actions in acme/web' })]);

    const byId = await app.http.inject({ url: `/api/v1/tokens/${token.id}`, headers: { cookie: session.cookie } });
    expect(byId.statusCode).toBe(200);
    expect(byId.json()).toMatchObject({ id: token.id, note: 'GitHub Actions in acme/web' });

    const self = await app.http.inject({ url: '/api/v1/tokens/self', headers: bearer(secret) });
    expect(self.statusCode).toBe(200);
    expect(self.json()).toMatchObject({ id: token.id, note: 'GitHub Actions in acme/web' });
  });

  it('is null when none is given, or when it is only whitespace', async () => {
    const session = await app.signIn();
    const { token, secret } = await app.createToken(session, 'plain');
    expect(token.note).toBeNull();
    const blank = await app.createToken(session, 'blank', { note: '   ' });
    expect(blank.token.note).toBeNull();

    const list = await app.http.inject({ url: '/api/v1/tokens', headers: { cookie: session.cookie } });
    for (const listed of list.json().tokens) expect(listed.note).toBeNull();
    const self = await app.http.inject({ url: '/api/v1/tokens/self', headers: bearer(secret) });
    expect(self.json().note).toBeNull();
  });

  it('takes exactly 200 characters, and refuses 201 as R-422 naming /note with nothing written', async () => {
    const session = await app.signIn();
    const longest = await app.createToken(session, 'longest', { note: 'n'.repeat(200) });
    expect(longest.token.note).toBe('n'.repeat(200));

    const before = await tokenRows(ctx);
    const response = await app.http.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: session.headers,
      payload: { name: 'too-long', note: 'n'.repeat(201) },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ pointer: '/note', detail: 'must be at most 200 characters' }],
    });
    expect(await tokenRows(ctx)).toBe(before);
  });

  it('refuses control and bidirectional characters as names do, with nothing written', async () => {
    const session = await app.signIn();
    const before = await tokenRows(ctx);
    for (const note of ['ci\u001b[2J', 'a\u202eb']) {
      const response = await app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers: session.headers, payload: { name: 'x', note } });
      expect(response.statusCode).toBe(422);
      expect(response.json().errors).toContainEqual({ pointer: '/note', detail: 'must not contain control, formatting or bidirectional characters' });
    }
    expect(await tokenRows(ctx)).toBe(before);
  });
});
