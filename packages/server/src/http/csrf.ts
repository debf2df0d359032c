/**
 * Cross-site request defences for cookie-authenticated requests and the sign-in forms
 * (docs/security.md, item 38).
 */
import { CSRF_HEADER } from '@latchkey/contract';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../kernel/app-error.js';
import { secretsEqual } from '../kernel/secrets.js';

/**
 * The request must come from this origin and carry the session's CSRF token (only our own pages
 * can read it), sent as the X-CSRF-Token header — or, for the plain HTML forms of sign-in,
 * passed in as `presented`.
 */
export function checkCsrf(
  request: FastifyRequest,
  csrfToken: string,
  publicOrigin: string,
  presented: unknown = request.headers[CSRF_HEADER],
): void {
  checkSameOrigin(request, publicOrigin);
  if (typeof presented !== 'string' || !secretsEqual(csrfToken, presented)) {
    throw new AppError('CSRF_REJECTED', `A valid ${CSRF_HEADER} header is required.`);
  }
}

/**
 * What the browser says about where a request comes from (`Sec-Fetch-Site`, `Origin`) must be
 * us. Also guards sign-in POSTs, which have no session yet (login CSRF).
 */
export function checkSameOrigin(request: FastifyRequest, publicOrigin: string): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new AppError('CSRF_REJECTED', 'Cross-site requests are refused.');
  }
  const origin = request.headers.origin;
  // A form on a page served with `Referrer-Policy: no-referrer` is posted with `Origin: null`;
  // the browser's own Sec-Fetch-Site (which page scripts cannot set) then vouches for it.
  const opaqueButSameOrigin = origin === 'null' && site === 'same-origin';
  if (origin !== undefined && !opaqueButSameOrigin && origin !== publicOrigin && origin !== requestOrigin(request)) {
    throw new AppError('CSRF_REJECTED', 'Requests from another origin are refused.');
  }
}

function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}
