/**
 * Strict request bodies (docs/security.md, item 48): a property a route does not know is refused
 * with R-422 naming it, never silently dropped. Routes with a body schema get this from their
 * strict zod object (the error handler names the properties); a route that declares no body
 * gets `refuseUndeclaredBody`, so a JSON body sent to it is refused rather than ignored.
 */
import { tokenScannerRegExp, type FieldError } from '@latchkey/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './problem.js';

/** A property name an error may repeat: short, printable, and not a token pasted as a key. */
const NAMEABLE_PROPERTY = /^[\x20-\x7e]{1,64}$/;

/**
 * One entry per property a body may not have, each with the JSON pointer to it; a name that
 * cannot be repeated safely is reported at its parent.
 */
export function unknownPropertyErrors(parentPointer: string, keys: unknown): FieldError[] {
  const names = Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : [];
  if (names.length === 0) return [{ pointer: parentPointer, detail: 'has a property that is not a known field' }];
  return names.map((name) =>
    NAMEABLE_PROPERTY.test(name) && !tokenScannerRegExp().test(name)
      ? { pointer: `${parentPointer}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`, detail: 'is not a known field' }
      : { pointer: parentPointer, detail: 'has a property that is not a known field' },
  );
}

/**
 * preValidation for a route that declares no body: JSON with anything in it (an empty object or
 * `null` pass) is R-422. Form bodies of the sign-in pages are not JSON and are left to their routes.
 */
export async function refuseUndeclaredBody(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const { body } = request;
  if (body === undefined || body === null) return undefined;
  if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return undefined;
  const isObject = typeof body === 'object' && !Array.isArray(body);
  if (isObject && Object.keys(body).length === 0) return undefined;
  const errors = isObject
    ? unknownPropertyErrors('', Object.keys(body))
    : [{ pointer: '', detail: 'must be empty: this route takes no body' }];
  // Returning the reply tells Fastify the request is answered.
  return sendProblem(reply, 'VALIDATION_FAILED', { detail: 'The request has invalid fields.', errors });
}
