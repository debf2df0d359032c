/**
 * The server's configuration: one zod schema over the environment. Nothing else reads
 * process.env. Bad configuration stops the server with every problem listed at once.
 */
import { z } from 'zod';
import { DEFAULT_TOKEN_LIFETIME_DAYS } from '@latchkey/contract';
import { parseDatabaseUrl } from './database/open-database.js';

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

const optionalUrl = z.preprocess(emptyAsUndefined, z.url().optional());

/**
 * Test-only fault injection (docs/security.md, items 15 and 59), never for production:
 * `LATCHKEY_TEST_FAULT=exit-after-revoke-commit` makes the process exit right after a revoke
 * has committed and before its 204 is written, the worst moment for a crash;
 * `hold-credential-reports` stores leaked-token reports and answers 202 but never processes
 * them, so a test can kill the process between the 202 and the processing.
 */
export const TEST_FAULTS = ['exit-after-revoke-commit', 'hold-credential-reports'] as const;
export type TestFault = (typeof TEST_FAULTS)[number];

const environmentSchema = z
  .object({
    PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(8080)),
    HOST: z.preprocess(emptyAsUndefined, z.string().default('0.0.0.0')),
    PUBLIC_URL: z.preprocess(
      emptyAsUndefined,
      z
        .url({ protocol: /^https?$/ })
        .transform((url) => url.replace(/\/+$/, ''))
        .optional(),
    ),
    DATABASE_URL: z.preprocess(emptyAsUndefined, z.string().default('sqlite:./data/latchkey.db')),
    REDIS_URL: optionalUrl,
    REDIS_KEY_PREFIX: z.preprocess(emptyAsUndefined, z.string().max(100).default('latchkey:')),
    TOKEN_CACHE: z.preprocess(emptyAsUndefined, z.enum(['on', 'off']).default('on')),
    OIDC_ISSUER: optionalUrl,
    OIDC_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
    OIDC_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
    OIDC_ADMIN_EMAILS: z.preprocess(emptyAsUndefined, z.string().optional()),
    OIDC_LINK_EXISTING_ACCOUNTS: z.preprocess(emptyAsUndefined, z.enum(['true', 'false']).default('false')),
    TOKEN_MAX_LIFETIME_DAYS: z.preprocess(
      emptyAsUndefined,
      z.coerce.number().int().min(1).max(3650).default(DEFAULT_TOKEN_LIFETIME_DAYS),
    ),
    TOKEN_MAX_PER_ACCOUNT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100_000).default(100)),
    NAMESPACE_MAX_PER_ACCOUNT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(100_000).default(100)),
    TRUST_PROXY: z.preprocess(
      emptyAsUndefined,
      z
        .string()
        .optional()
        .transform((value) => parseTrustProxy(value)),
    ),
    LOG_LEVEL: z.preprocess(
      emptyAsUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    LATCHKEY_TEST_FAULT: z.preprocess(emptyAsUndefined, z.enum(TEST_FAULTS).optional()),
    WEBHOOK_ALLOW_PRIVATE: z.preprocess(emptyAsUndefined, z.enum(['true', 'false']).default('false')),
    SMTP_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional()),
    MAIL_FROM: z.preprocess(emptyAsUndefined, z.string().max(320).optional()),
    LATCHKEY_TEST_CLOCK_OFFSET_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().optional()),
  });

export interface Config {
  port: number;
  host: string;
  /** The origin users reach the server at, without a trailing slash. */
  publicUrl: string;
  databaseUrl: string;
  redisUrl: string | undefined;
  /** Prefix of every Redis key, so several deployments can share one Redis. */
  redisKeyPrefix: string;
  /**
   * SQLite only: keep verified tokens in memory with exact invalidation (tokens/verified-token-
   * cache.ts). PostgreSQL never caches.
   */
  tokenCache: boolean;
  oidc:
    | {
        issuer: string;
        clientId: string;
        clientSecret: string | undefined;
        adminEmails: string[];
        /** Join a new identity to any account with its verified email, not only a never-used invite. */
        linkExistingAccounts: boolean;
      }
    | undefined;
  tokenMaxLifetimeDays: number;
  tokenMaxPerAccount: number;
  /** Namespaces one account may hold (NAMESPACE_MAX_PER_ACCOUNT). */
  namespaceMaxPerAccount: number;
  /** Proxy addresses whose X-Forwarded-For is believed; false trusts none. */
  trustProxy: boolean | string[];
  logLevel: string;
  /** LATCHKEY_TEST_FAULT: a fault to inject, for tests only; undefined in every real deployment. */
  testFault: TestFault | undefined;
  /** WEBHOOK_ALLOW_PRIVATE: webhooks may target private, loopback and link-local addresses (local development, tests). */
  webhookAllowPrivate: boolean;
  /**
   * Email notifications (SMTP_URL, MAIL_FROM): the SMTP server (`smtp://` or `smtps://`, with
   * credentials if it wants them; never logged) and the sender; undefined sends no email.
   */
  smtp: { url: string; from: string } | undefined;
  /**
   * LATCHKEY_TEST_CLOCK_OFFSET_MS, for tests only: moves this instance's clock (the expiry scan's
   * "now", the timestamps it writes) forward by this much, so a test can cross expiry thresholds
   * across restarts. 0 in every real deployment.
   */
  testClockOffsetMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = environmentSchema.safeParse(env);
  // Cross-field and format checks run on the raw values too, so one run reports everything
  // (zod skips refinements once a field has failed).
  const problems = [
    ...(parsed.error?.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`) ?? []),
    ...crossFieldProblems(env),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    tokenCache: e.TOKEN_CACHE === 'on',
    oidc: e.OIDC_ISSUER
      ? {
          issuer: e.OIDC_ISSUER,
          clientId: e.OIDC_CLIENT_ID as string,
          clientSecret: e.OIDC_CLIENT_SECRET,
          adminEmails: (e.OIDC_ADMIN_EMAILS ?? '')
            .split(',')
            .map((email) => email.trim().toLowerCase())
            .filter(Boolean),
          linkExistingAccounts: e.OIDC_LINK_EXISTING_ACCOUNTS === 'true',
        }
      : undefined,
    tokenMaxLifetimeDays: e.TOKEN_MAX_LIFETIME_DAYS,
    tokenMaxPerAccount: e.TOKEN_MAX_PER_ACCOUNT,
    namespaceMaxPerAccount: e.NAMESPACE_MAX_PER_ACCOUNT,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    testFault: e.LATCHKEY_TEST_FAULT,
    webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'true',
    smtp: e.SMTP_URL ? { url: e.SMTP_URL, from: e.MAIL_FROM as string } : undefined,
    testClockOffsetMs: e.LATCHKEY_TEST_CLOCK_OFFSET_MS ?? 0,
  };
}

/** `addr@host` or `Name <addr@host>`: enough to catch a value that is not an address at all. */
const MAIL_FROM_SHAPE = /^(?:[^<>@]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/;

function crossFieldProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if (env.DATABASE_URL) {
    try {
      parseDatabaseUrl(env.DATABASE_URL);
    } catch (error) {
      problems.push(`DATABASE_URL: ${(error as Error).message}`);
    }
  }
  if (env.OIDC_ISSUER && !env.OIDC_CLIENT_ID) problems.push('OIDC_CLIENT_ID: is required when OIDC_ISSUER is set');
  if (!env.OIDC_ISSUER && env.OIDC_CLIENT_ID) problems.push('OIDC_ISSUER: is required when OIDC_CLIENT_ID is set');
  if (env.SMTP_URL && !env.MAIL_FROM) problems.push('MAIL_FROM: is required when SMTP_URL is set (the sender of the notification emails)');
  if (env.MAIL_FROM && !MAIL_FROM_SHAPE.test(env.MAIL_FROM)) problems.push('MAIL_FROM: must be an address, e.g. latchkey@example.com or "Latchkey <latchkey@example.com>"');
  if (!env.SMTP_URL && env.MAIL_FROM) problems.push('SMTP_URL: is required when MAIL_FROM is set');
  return problems;
}

/** `TRUST_PROXY`: unset/false → none; true → every hop; otherwise a comma list of IPs/CIDRs. */
function parseTrustProxy(value: string | undefined): boolean | string[] {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}
