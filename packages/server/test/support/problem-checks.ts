/**
 * The error contract as assertions (docs/security.md, error contract and item 11), shared by the
 * tests that replay known error scenarios and the ones that fuzz for unknown ones.
 */
import { tokenScannerRegExp } from '@latchkey/contract';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

export const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The characters RFC 6750 allows in `error_description`. */
const SAFE_DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
const SQL_KEYWORDS = /\b(SELECT|INSERT|UPDATE|DELETE FROM|WHERE)\b/;

/**
 * An error response is problem+json whose `status` is the HTTP status, with the challenge where
 * the contract requires one, and nothing in it that tells how the server is built: no stack, no
 * error class, no SQL, no token.
 */
export function expectProblemHygiene(response: LightMyRequestResponse, label: string): void {
  const { statusCode, headers, body: text } = response;
  expect(String(headers['content-type']), label).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body.status, label).toBe(statusCode);
  expect(typeof body.type, label).toBe('string');
  expect(typeof body.title, label).toBe('string');

  const needsChallenge = statusCode === 401 || body.code === 'INVALID_REQUEST' || body.code === 'INSUFFICIENT_SCOPE';
  const challenge = headers['www-authenticate'];
  if (needsChallenge) {
    expect(challenge, label).toMatch(/^Bearer realm="api"/);
  }
  if (typeof challenge === 'string') {
    for (const match of challenge.matchAll(/error_description="((?:[^"\\]|\\.)*)"/g)) {
      expect(match[1], label).toMatch(SAFE_DESCRIPTION);
    }
    expect(challenge, label).not.toMatch(/error_description="[^"]*$/);
  }

  expect(text, label).not.toContain('at /');
  expect(text, label).not.toContain('Error:');
  expect(text, label).not.toMatch(SQL_KEYWORDS);
  expect(text, label).not.toMatch(tokenScannerRegExp());
  expect(JSON.stringify(headers), label).not.toMatch(tokenScannerRegExp());
}

/** The headers every problem response carries: its request id, `no-store` and `nosniff`. */
export function expectProblemHeaders(response: LightMyRequestResponse, label: string): void {
  expect(response.headers['x-request-id'], label).toMatch(REQUEST_ID);
  expect(response.headers['cache-control'], label).toBe('no-store');
  expect(response.headers['x-content-type-options'], label).toBe('nosniff');
}
