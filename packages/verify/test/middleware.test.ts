/**
 * The helpers' answers without a framework: which Authorization headers carry a bearer token,
 * and the refusal each code gets — the server's status, problem+json and challenge.
 */
import { describe, expect, it } from 'vitest';
import { bearerToken, refusalResponse } from '../src/index.js';

describe('bearerToken', () => {
  it('reads a bearer token, refuses other schemes as UNAUTHENTICATED and a malformed bearer as INVALID_REQUEST', () => {
    expect(bearerToken('Bearer lk_pat_1abc')).toBe('lk_pat_1abc');
    expect(bearerToken('bearer lk_pat_1abc')).toBe('lk_pat_1abc');
    for (const header of [undefined, '', 'Basic dXNlcjpwYXNz', 'Token x']) expect(bearerToken(header), String(header)).toEqual({ code: 'UNAUTHENTICATED' });
    for (const header of ['Bearer', 'Bearer a b', ['Bearer a', 'Bearer b']]) expect(bearerToken(header), String(header)).toEqual({ code: 'INVALID_REQUEST' });
  });
});

describe('refusalResponse', () => {
  it('answers each refusal as the server does', () => {
    expect(refusalResponse({ code: 'UNAUTHENTICATED' })).toEqual({
      status: 401,
      headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="api"' },
      body: { type: 'about:blank', title: 'Unauthorized', status: 401, code: 'UNAUTHENTICATED' },
    });
    expect(refusalResponse({ code: 'INVALID_TOKEN' }).headers['www-authenticate']).toBe(
      'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"',
    );
    const scope = refusalResponse({ code: 'INSUFFICIENT_SCOPE', requiredScope: 'namespaces:write', namespace: 'prod' });
    expect(scope.status).toBe(403);
    expect(scope.headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope", scope="namespaces:write"');
    expect(scope.body).toMatchObject({ code: 'INSUFFICIENT_SCOPE', requiredScope: 'namespaces:write', namespace: 'prod' });
    expect(refusalResponse({ code: 'INSUFFICIENT_SCOPE', namespace: 'prod' }).headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope"');
    const unavailable = refusalResponse({ code: 'UNAVAILABLE' });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('5');
    expect(unavailable.headers['www-authenticate']).toBeUndefined();
  });
});
