/**
 * The administrator's errands with the built `latchkey` binary against a real server:
 * `admin tokens list --expiring-within 7` finds every account's token that really expires this
 * week and not one that lives for 90 days; `admin audit --token-id ID --output ndjson` prints
 * exactly what that one token did, one JSON event a line; `admin tokens revoke` stops a token at
 * once; `admin policy set --max-lifetime` tightens what a member's next token may be given.
 */
import { describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../server/src/audit/audit-event.js';
import { builtCliAgainstServer } from './support/built-cli.js';

const DAY_MS = 86_400_000;

describe('latchkey admin (built binary) against latchkey-server', () => {
  const cli = builtCliAgainstServer();

  async function administratorToken(email: string): Promise<string> {
    const account = await cli.services.accounts.create({ email, isAdmin: true }, SYSTEM_ACTOR);
    const scopes = ['admin:read', 'admin:write'] as const;
    return (await cli.services.tokens.create(account.id, { name: 'admin', scopes: [...scopes] }, SYSTEM_ACTOR, { isAdmin: true })).secret;
  }

  /** A call to the server with a token, as a script would make it. */
  function post(secret: string, path: string, body: unknown): Promise<Response> {
    return fetch(`${cli.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  it('admin tokens list --expiring-within 7 lists every account\'s token expiring this week and not those expiring in 90 days', async () => {
    const adminSecret = await administratorToken('root-expiring@example.test');
    const expiringIn = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();
    const created: Record<string, string> = {};
    for (const [email, soon] of [['alice@example.test', 3], ['bob@example.test', 6]] as const) {
      const account = await cli.services.accounts.create({ email }, SYSTEM_ACTOR);
      for (const [name, days] of [[`${email}-soon`, soon], [`${email}-later`, 90]] as const) {
        created[name] = (await cli.services.tokens.create(account.id, { name, expiresAt: expiringIn(days) }, SYSTEM_ACTOR)).token.id;
      }
    }

    const json = await cli.run(['admin', 'tokens', 'list', '--expiring-within', '7', '--output', 'json'], adminSecret);
    expect(json, json.stderr).toMatchObject({ code: 0, stderr: '' });
    const listed = (JSON.parse(json.stdout) as { tokens: Array<{ id: string }> }).tokens.map((token) => token.id).sort();
    expect(listed).toEqual([created['alice@example.test-soon'], created['bob@example.test-soon']].sort());

    const table = await cli.run(['admin', 'tokens', 'list', '--expiring-within', '7'], adminSecret);
    expect(table, table.stderr).toMatchObject({ code: 0 });
    // A row per token: name, owner, scopes, state (expiring: within the console's warning window), expiry, last use, id.
    for (const email of ['alice@example.test', 'bob@example.test']) {
      const row = table.stdout.split('\n').find((line) => line.startsWith(`${email}-soon `));
      expect(row, email).toMatch(new RegExp(`\\s${email.replaceAll('.', '\\.')}\\s.*\\sexpiring\\s.*\\s${created[`${email}-soon`]}$`));
    }
    expect(table.stdout).not.toContain('-later');

    // Without the filter the long-lived ones are there: the filter, not their absence, left them out.
    const all = JSON.parse((await cli.run(['admin', 'tokens', 'list', '--output', 'json'], adminSecret)).stdout) as { tokens: Array<{ id: string }> };
    expect(all.tokens.map((token) => token.id)).toEqual(expect.arrayContaining(Object.values(created)));
  });

  it('admin audit --token-id ID --output ndjson prints exactly that token\'s trail (what it did, and its own creation), newest first, one JSON object a line', async () => {
    const adminSecret = await administratorToken('root-audit@example.test');
    const member = await cli.services.accounts.create({ email: 'carol@example.test' }, SYSTEM_ACTOR);
    const traced = await cli.services.tokens.create(member.id, { name: 'ci' }, SYSTEM_ACTOR);
    const other = await cli.services.tokens.create(member.id, { name: 'laptop' }, SYSTEM_ACTOR);
    // Two audited changes made with the traced token, one with the other token beside them.
    expect((await post(traced.secret, '/api/v1/namespaces', { name: 'traced-ns' })).status).toBe(201);
    expect((await post(traced.secret, '/api/v1/tokens', { name: 'child' })).status).toBe(201);
    expect((await post(other.secret, '/api/v1/namespaces', { name: 'other-ns' })).status).toBe(201);

    const result = await cli.run(['admin', 'audit', '--token-id', traced.token.id, '--output', 'ndjson'], adminSecret);
    expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.endsWith('\n')).toBe(true);
    const events = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; targetId: string; actor: { accountId: string | null; tokenId: string | null } });
    expect(events.map((event) => event.action)).toEqual(['token.created', 'namespace.created', 'token.created']);
    for (const event of events.slice(0, 2)) expect(event.actor).toMatchObject({ accountId: member.id, tokenId: traced.token.id });
    // Its own creation (by the system here) is part of its trail: the event is about it.
    expect(events[2]).toMatchObject({ targetId: traced.token.id, actor: { tokenId: null } });

    const otherTrail = await cli.run(['admin', 'audit', '--token-id', other.token.id, '--output', 'ndjson'], adminSecret);
    expect(otherTrail.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as { action: string }).action)).toEqual(['namespace.created', 'token.created']);

    // A mistyped id is said to be one, rather than answered with no events.
    const typo = await cli.run(['admin', 'audit', '--token-id', traced.token.id.slice(1), '--output', 'ndjson'], adminSecret);
    expect(typo).toMatchObject({ code: 1, stdout: '' });
    expect(typo.stderr).toContain('token is not a token id');
  });

  it('admin tokens revoke ID --yes revokes another account\'s token: it is refused at once', async () => {
    const adminSecret = await administratorToken('root-revoke@example.test');
    const member = await cli.services.accounts.create({ email: 'dave@example.test' }, SYSTEM_ACTOR);
    const leaked = await cli.services.tokens.create(member.id, { name: 'leaked' }, SYSTEM_ACTOR);
    expect((await cli.run(['namespace', 'list'], leaked.secret)).code).toBe(0);

    const revoked = await cli.run(['admin', 'tokens', 'revoke', leaked.token.id, '--yes'], adminSecret);
    expect(revoked, revoked.stderr).toMatchObject({ code: 0, stdout: `Revoked token ${leaked.token.id}.\n` });
    expect((await cli.run(['namespace', 'list'], leaked.secret)).code).toBe(1);
  });

  // Last: it changes the policy every later token creation on this server follows.
  it('admin policy set --max-lifetime 30 tightens the maximum: a member\'s token create for 90 days is then refused, 30 days accepted', async () => {
    const adminSecret = await administratorToken('root-policy@example.test');
    const member = await cli.services.accounts.create({ email: 'erin@example.test' }, SYSTEM_ACTOR);
    const memberSecret = (await cli.services.tokens.create(member.id, { name: 'laptop' }, SYSTEM_ACTOR)).secret;
    const create = (days: string) => cli.run(['token', 'create', '--name', `for-${days}-days`, '--expires-in', days], memberSecret);
    expect((await create('90')).code).toBe(0);

    const set = await cli.run(['admin', 'policy', 'set', '--max-lifetime', '30'], adminSecret);
    expect(set, set.stderr).toMatchObject({ code: 0 });
    expect(set.stdout).toMatch(/Personal token max lifetime:\s+30 days/);

    const refused = await create('90');
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe('error: the server refused the request: /expiresInDays must be one of 7, 30\n');
    const accepted = await create('30');
    expect(accepted, accepted.stderr).toMatchObject({ code: 0 });
    expect(accepted.stdout).toMatch(/^lk_pat_1/);
  });
});
