/** Types for soak.mjs (plain JavaScript so that `npm run soak` needs no TypeScript loader). */

export const RSS_GROWTH_LIMIT: number;
export const FD_SLACK: number;
export const SOCKET_OVERHEAD: number;

export interface SoakOptions {
  minutes: number;
  warmupMinutes: number;
  /** Requests per second; default 50% of the capacity measured first. */
  rate?: number;
  /** Upper bound for the default rate. */
  maxRate?: number;
  limiterCap?: number;
  invalidAddresses?: number;
  sampleEveryMs?: number;
  rssGrowthLimit?: number;
  /** Fail when more than 1% of scheduled requests were skipped (default true). */
  requireRate?: boolean;
  log?: (line: string) => void;
}

export interface SoakFigures {
  rate: number;
  capacity: number | undefined;
  achievedRate: number;
  requests: number;
  invalidShare: number;
  statuses: Record<string, Record<string, number>>;
  skipped: number;
  samples: number;
  samplesAfterWarmup: number;
  baselineRssMiB: number;
  finalRssMiB: number;
  peakRssMiB: number;
  rssGrowth: number;
  /** Descriptors other than sockets. */
  baselineFds: number;
  fdRange: [number, number];
  maxSocketFds: number;
  maxLimiterSize: number;
  limiterCap: number;
  failingAddresses: number;
}

export function runSoak(options: SoakOptions): Promise<{ violations: string[]; figures: SoakFigures; serverOutputTail: string }>;
