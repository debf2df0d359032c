/** Spending a client address's failed-authentication budget, and waiting out a throttle (docs/security.md, item 39). */
import { generateToken } from '@latchkey/contract/token';
import { expect } from 'vitest';
import { FAILURE_THRESHOLD, THROTTLED_LOOKUP_INTERVAL_MS } from '../../src/auth-failures/failure-limiter.js';
import { bearer } from './app.js';

/**
 * Spends the whole budget of the address `send` uses across two instances: unknown tokens, half
 * to each, alternating, every one answered 401. The 30th goes through the second instance.
 */
export async function spendFailureBudgetAcross<I>(
  instances: readonly [I, I],
  send: (instance: I, headers: Record<string, string>) => Promise<{ statusCode: number }>,
): Promise<void> {
  for (let i = 0; i < FAILURE_THRESHOLD / 2; i++) {
    for (const instance of instances) expect((await send(instance, bearer(generateToken().token))).statusCode).toBe(401);
  }
}

/** How many R-LIMIT answers a client honouring `Retry-After` sits out before it gets through, at most. */
const MAX_THROTTLED_TRIES = 20;

/**
 * Sends as a well-behaved client does: on 429, waits what `Retry-After` says (`wait`, which moves
 * an injected clock or sleeps) and tries again. Every `Retry-After` must be the throttle's short
 * one, never the old hour. Answers the first response that is not a 429.
 */
export async function untilNotThrottled<R extends { statusCode: number; headers: Record<string, unknown> }>(
  send: () => Promise<R>,
  wait: (seconds: number) => unknown,
): Promise<R> {
  for (let tries = 0; tries < MAX_THROTTLED_TRIES; tries++) {
    const answer = await send();
    if (answer.statusCode !== 429) return answer;
    const seconds = Number(answer.headers['retry-after']);
    expect(Number.isInteger(seconds) && seconds > 0 && seconds <= THROTTLED_LOOKUP_INTERVAL_MS / 1000).toBe(true);
    await wait(seconds);
  }
  throw new Error(`still R-LIMIT after ${MAX_THROTTLED_TRIES} tries`);
}
