/** Types for harness.mjs (plain JavaScript so that `npm run soak` needs no TypeScript loader). */

export interface ServerStats {
  /** SQL statements the server sent since it started. */
  queries: number;
  limiterSize: number;
  limiterCap: number;
  rss: number;
  fds: number;
}

export interface InstrumentedServer {
  readonly pid: number;
  readonly base: string;
  output(): string;
  stats(): Promise<ServerStats>;
  /** Creates accounts with tokens through the domain; returns the token secrets. */
  seed(accounts: number, tokensPerAccount: number): Promise<string[]>;
  stop(): Promise<void>;
}

export function startInstrumentedServer(env: Record<string, string>): Promise<InstrumentedServer>;

export function processFigures(pid: number): { rss: number; fds: number; socketFds: number };

export interface LoadStream {
  name: string;
  weight: number;
  path: string;
  tokens: string[];
  /** `X-Forwarded-For: <prefix><n>` rotating over `addressCount` addresses, e.g. '10.' or '10.7.'. */
  addressPrefix?: string;
  addressCount?: number;
}

export interface LoadPlan {
  base: string;
  durationMs: number;
  rate: number;
  connections: number;
  streams: LoadStream[];
  /** Streams whose per-request [sendEpochMs, latencyMs, status] are returned. */
  recordLatencies?: string[];
  timeoutMs?: number;
  /** Skip (rather than queue) scheduled requests while this many are unanswered. */
  maxInFlight?: number;
  /** Send only during the on-periods; they come back as `onWindows`. */
  dutyCycle?: { onMs: number; offMs: number };
}

export interface StreamResult {
  sent: number;
  statuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  /** 429 responses without an integer Retry-After > 0. */
  badRetryAfter: number;
  samples: Array<[sendEpochMs: number, latencyMs: number, status: number]>;
}

export interface LoadResult {
  /** With a duty cycle: each on-period as [startEpochMs, endEpochMs]. */
  onWindows: Array<[number, number]>;
  firstSendEpochMs: number;
  lastSendEpochMs: number;
  scheduled: number;
  /** Scheduled but not sent because maxInFlight requests were unanswered. */
  skipped: number;
  achievedRate: number;
  unanswered: number;
  streams: Record<string, StreamResult>;
}

export function runLoad(plan: LoadPlan): Promise<LoadResult>;
export function unknownTokens(count: number): string[];
export function checksumFailingTokens(count: number): string[];
export function quantile(values: number[], q: number): number;
export function median(values: number[]): number;
export function sleep(ms: number): Promise<void>;
