import { createApiClient, type ApiClient } from './api-client.js';
import { isLoopbackHost, resolveCredentials, type GlobalOptions, type ResolvedCredentials } from './credentials.js';
import type { CliIo } from './io.js';

/** Resolves credentials and opens a client for them: the start of every server command. */
export async function connect(
  io: CliIo,
  options: GlobalOptions,
): Promise<{ credentials: ResolvedCredentials; client: ApiClient }> {
  const credentials = await resolveCredentials(io, options);
  warnIfCleartext(io, credentials.url);
  const client = createApiClient(io, {
    baseUrl: credentials.url,
    token: credentials.token,
    verbose: options.verbose,
    knownTokenExpiresAt: credentials.context?.tokenExpiresAt,
  });
  return { credentials, client };
}

/** A token sent over plain HTTP beyond this machine can be read on the way. */
export function warnIfCleartext(io: CliIo, url: string): void {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'http:' && !isLoopbackHost(hostname)) {
    io.stderr.write(`warning: ${url} is not HTTPS; the token travels unencrypted.\n`);
  }
}
