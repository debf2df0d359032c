/**
 * Redis for the shared limiters (failed authentications, leak reports). A limiter is a brake,
 * not a lock: when Redis cannot be reached it steps aside (the error is reported) rather than
 * failing the requests it was meant to slow down.
 */
import { Redis } from 'ioredis';

export interface LimiterRedis {
  readonly client: Redis;
  /** Runs `work`; if Redis fails, reports the error and answers `fallback`. */
  orStepAside<T>(fallback: T, work: (client: Redis) => Promise<T>): Promise<T>;
  close(): void;
}

export function openLimiterRedis(url: string, onError: (error: unknown) => void): LimiterRedis {
  // Commands wait for the connection (offline queue) but never longer than commandTimeout:
  // a Redis outage costs a request at most that, then the limiter steps aside.
  const client = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1000 });
  client.on('error', onError);
  return {
    client,
    async orStepAside(fallback, work) {
      try {
        return await work(client);
      } catch (error) {
        onError(error);
        return fallback;
      }
    },
    close: () => client.disconnect(),
  };
}
