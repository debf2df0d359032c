/** Spending a client address's failed-authentication budget (docs/security.md, item 39). */
import { generateToken } from '@latchkey/contract/token';
import { expect } from 'vitest';
import { FAILURE_THRESHOLD } from '../../src/auth-failures/failure-limiter.js';
import { bearer } from './app.js';

/**
 * Spends the whole budget of the address `send` uses across two instances: unknown tokens, half
 * to each, alternating, every one answered 401. The next bearer request from it is over budget.
 */
export async function spendFailureBudgetAcross<I>(
  instances: readonly [I, I],
  send: (instance: I, headers: Record<string, string>) => Promise<{ statusCode: number }>,
): Promise<void> {
  for (let i = 0; i < FAILURE_THRESHOLD / 2; i++) {
    for (const instance of instances) expect((await send(instance, bearer(generateToken().token))).statusCode).toBe(401);
  }
}
