/**
 * The Redis the tests share: LATCHKEY_TEST_REDIS_URL, else redis://127.0.0.1:6379. CI starts one
 * (.ci/run); elsewhere the tests that need it are skipped, loudly, when it does not answer.
 */
import { createConnection } from 'node:net';

export const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** Whether Redis answers PING (a raw RESP round trip, 2 s budget). */
export function redisAnswers(url: string = REDIS_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * Whether the test Redis answers. When it does not: an error if it is required (in CI, which
 * starts it), otherwise a loud line saying that `skipped` is skipped.
 */
export async function testRedisUp(skipped: string, required = Boolean(process.env.CI)): Promise<boolean> {
  if (await redisAnswers()) return true;
  if (required) throw new Error(`Redis at ${REDIS_URL} does not answer (CI starts it in .ci/run)`);
  process.stderr.write(`\n!!! Redis at ${REDIS_URL} does not answer: SKIPPING ${skipped}.\n\n`);
  return false;
}
