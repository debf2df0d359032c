/**
 * Which server and token a command uses: `--url`/`--token`/`--token-stdin` flags, then
 * LATCHKEY_URL / LATCHKEY_TOKEN / LATCHKEY_NAMESPACE, then the current stored context.
 * A stored token is only ever sent to the URL it was stored for. With URL and token both
 * given, the config file is not read, so CI pipelines need none.
 */
import { CliError, UsageError } from './cli-errors.js';
import { currentContext, readConfig, type StoredContext } from './config-store.js';
import type { CliIo } from './io.js';
import { checkTokenFormat, readTokenFromStdin, type TokenSource } from './token-input.js';

export interface GlobalOptions {
  url?: string;
  token?: string;
  tokenStdin?: boolean;
  verbose?: boolean;
}

export interface ResolvedCredentials {
  url: string;
  token: string;
  tokenSource: TokenSource;
  namespace: string | null;
  /** The stored context whose token is used; undefined for a flag/env/stdin token. */
  context: StoredContext | undefined;
}

export const ARGV_TOKEN_WARNING =
  'warning: a token on the command line ends up in your shell history and the process list; ' +
  'use LATCHKEY_TOKEN or --token-stdin instead.\n';

/** A token given explicitly (flag, stdin, environment), format-checked; undefined when none. */
export async function explicitToken(
  io: CliIo,
  options: GlobalOptions,
): Promise<{ token: string; source: TokenSource } | undefined> {
  if (options.token !== undefined && options.tokenStdin) {
    throw new UsageError('Give the token either with --token or with --token-stdin, not both.');
  }
  if (options.token !== undefined) {
    io.stderr.write(ARGV_TOKEN_WARNING);
    return { token: checkTokenFormat(options.token, '--token'), source: '--token' };
  }
  if (options.tokenStdin) {
    return { token: checkTokenFormat(await readTokenFromStdin(io.stdin), '--token-stdin'), source: '--token-stdin' };
  }
  const fromEnv = io.env.LATCHKEY_TOKEN;
  if (fromEnv) return { token: checkTokenFormat(fromEnv, 'LATCHKEY_TOKEN'), source: 'LATCHKEY_TOKEN' };
  return undefined;
}

export async function resolveCredentials(io: CliIo, options: GlobalOptions): Promise<ResolvedCredentials> {
  const given = await explicitToken(io, options);
  const rawUrl = options.url ?? (io.env.LATCHKEY_URL || undefined);
  const envNamespace = io.env.LATCHKEY_NAMESPACE || null;

  if (given && rawUrl !== undefined) {
    return { url: normalizeServerUrl(rawUrl), token: given.token, tokenSource: given.source, namespace: envNamespace, context: undefined };
  }

  const config = readConfig(io);
  let context: StoredContext | undefined;
  if (rawUrl !== undefined) {
    const url = normalizeServerUrl(rawUrl);
    const current = currentContext(config);
    context = current?.url === url ? current : config.contexts.find((candidate) => candidate.url === url);
    if (!context) {
      throw new CliError(
        `No token for ${url}: set LATCHKEY_TOKEN, pass --token-stdin, or run \`latchkey context use ${url}\`.`,
      );
    }
  } else {
    context = currentContext(config);
    if (!context) {
      throw new CliError(
        'No Latchkey server configured: run `latchkey context use URL`, or set LATCHKEY_URL and LATCHKEY_TOKEN.',
      );
    }
  }

  const namespace = envNamespace ?? context.namespace;
  if (given) return { url: context.url, token: given.token, tokenSource: given.source, namespace, context: undefined };
  if (!context.token) {
    throw new CliError(
      `The context "${context.name}" has no token any more (it was revoked): run \`latchkey context use ${context.url}\` to sign in again.`,
    );
  }
  return {
    url: context.url,
    token: checkTokenFormat(context.token, 'the stored context'),
    tokenSource: 'the stored context',
    namespace,
    context,
  };
}

/**
 * `https://host[:port][/path]` without a trailing slash, query or fragment. A bare host
 * (`latchkey.example.com`, `127.0.0.1:8080`), as `gh` and `kubectl` take, means https, or http
 * for this machine's loopback address.
 */
export function normalizeServerUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.includes('://') ? input : bareHostUrl(input));
  } catch {
    throw new UsageError(`"${input}" is not a URL; give the server's address, e.g. https://latchkey.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`"${input}" is not an http(s) URL.`);
  }
  if (url.username || url.password) throw new UsageError('The server URL must not contain a user name or password.');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** A bare host as a URL: http for a loopback address (nothing leaves the machine), else https. */
function bareHostUrl(host: string): string {
  const { hostname } = new URL(`http://${host}`);
  return `${isLoopbackHost(hostname) ? 'http' : 'https'}://${host}`;
}

/** 127.0.0.0/8, ::1 and localhost (RFC 6761: `*.localhost` too), as a URL spells its hostname. */
export function isLoopbackHost(hostname: string): boolean {
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    hostname === '[::1]' ||
    hostname === 'localhost' ||
    hostname.endsWith('.localhost')
  );
}

/**
 * Whether `context use TARGET` (no `://`) names a server rather than a stored context: a host
 * with a dot or a port, an IP address, or a loopback name. `prod` stays a context name.
 */
export function looksLikeHost(target: string): boolean {
  let url: URL;
  try {
    url = new URL(`http://${target}`);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  return url.port !== '' || url.hostname.includes('.') || url.hostname.startsWith('[') || isLoopbackHost(url.hostname);
}
