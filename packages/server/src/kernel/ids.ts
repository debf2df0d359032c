import { randomUUID } from 'node:crypto';

/** Every id is a random UUID (v4): unguessable, so ids leak nothing about volume or order. */
export function newId(): string {
  return randomUUID();
}

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a path segment can be an id at all; a malformed one is answered like a missing one. */
export function isId(value: string): boolean {
  return UUID_SHAPE.test(value);
}
