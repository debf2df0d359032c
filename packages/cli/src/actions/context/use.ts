import { hostname as osHostname } from 'node:os';
import { meResponseSchema, NAMESPACE_NAME_PATTERN } from '@latchkey/contract';
import { createApiClient } from '../../api-client.js';
import { CliError, UsageError } from '../../cli-errors.js';
import { findContext, readConfig, upsertContext, writeConfig, type StoredContext } from '../../config-store.js';
import { warnIfCleartext } from '../../connect.js';
import { explicitToken, looksLikeHost, normalizeServerUrl, type GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { accountLabel, formatDate } from '../../output.js';
import { escapeTerminalText } from '../../terminal-text.js';

export interface ContextUseOptions extends GlobalOptions {
  name?: string;
  namespace?: string;
}

/**
 * `context use URL` adds (or refreshes) a context and makes it current; `context use NAME`
 * switches. A bare host (`127.0.0.1:8080`) is a URL when options for a new context come with it,
 * or when no stored context has that name.
 */
export async function useContext(io: CliIo, target: string, options: ContextUseOptions): Promise<void> {
  if (!target.includes('://')) {
    const forNewContext = options.token !== undefined || options.tokenStdin || options.namespace !== undefined || options.name !== undefined;
    if (!looksLikeHost(target) || (!forNewContext && findContext(readConfig(io), target))) {
      return switchContext(io, target, options);
    }
  }

  const url = normalizeServerUrl(target);
  // Say which scheme a bare host got, before anything is sent to it.
  if (!target.includes('://')) io.stderr.write(`Using ${escapeTerminalText(url)} for "${escapeTerminalText(target)}".\n`);
  if (options.namespace !== undefined && !NAMESPACE_NAME_PATTERN.test(options.namespace)) {
    throw new UsageError(`"${options.namespace}" is not a namespace name (lowercase letters, digits and "-").`);
  }
  warnIfCleartext(io, url);
  const token = (await explicitToken(io, options))?.token ?? (await browserToken(io, url, options));

  const client = createApiClient(io, { baseUrl: url, token, verbose: options.verbose });
  const me = await client.send({ method: 'GET', path: '/api/v1/me' }, meResponseSchema);
  if (me.authenticatedWith !== 'token' || !me.token) {
    throw new CliError(`${url} did not accept the token as a personal access token.`);
  }

  const config = readConfig(io);
  const name = options.name ?? new URL(url).host;
  const previous = findContext(config, name);
  const context: StoredContext = {
    name,
    url,
    account: { id: me.account.id, email: me.account.email, name: me.account.name },
    token,
    tokenName: me.token.name,
    tokenExpiresAt: me.token.expiresAt,
    namespace: options.namespace ?? (previous?.url === url ? previous.namespace : null),
  };
  writeConfig(io, { ...upsertContext(config, context), currentContext: name });
  io.stdout.write(
    `Context "${escapeTerminalText(name)}" is now current: ${escapeTerminalText(accountLabel(me.account))} ` +
      `on ${escapeTerminalText(url)}, token "${escapeTerminalText(me.token.name)}" (expires ${formatDate(me.token.expiresAt)}).\n`,
  );
}

async function switchContext(io: CliIo, name: string, options: ContextUseOptions): Promise<void> {
  if (options.token !== undefined || options.tokenStdin || options.namespace !== undefined || options.name !== undefined) {
    throw new UsageError(`"${name}" is not a URL: --token, --token-stdin, --name and --namespace go with \`context use URL\`.`);
  }
  const config = readConfig(io);
  const context = findContext(config, name);
  if (!context) {
    throw new UsageError(
      `No context named "${name}". Add one with \`latchkey context use https://…\`; \`latchkey context list\` shows the stored ones.`,
    );
  }
  writeConfig(io, { ...config, currentContext: name });
  io.stdout.write(`Switched to context "${escapeTerminalText(name)}" (${escapeTerminalText(context.url)}).\n`);
}

/**
 * Test hook, for the end-to-end test that drives the real binary through a real browser login
 * (test/cli-binary.test.ts) with pipes rather than a terminal. With it set to `print`, a
 * command whose standard input is not a terminal may still run the browser login, and the
 * address is printed (on stderr) instead of opened, so the test can act as the browser. It
 * never lifts the CI rule, opens nothing, and only turns a refusal into a wait for a person to
 * approve in a signed-in browser, so setting it by mistake cannot leak or mint anything.
 */
export const BROWSER_LOGIN_TEST_HOOK = 'LATCHKEY_TEST_BROWSER_LOGIN';

/** Only an interactive person gets the browser; scripts and CI must say which token to use. */
async function browserToken(io: CliIo, url: string, options: ContextUseOptions): Promise<string> {
  const printOnly = io.env[BROWSER_LOGIN_TEST_HOOK] === 'print';
  if (io.env.CI || (!io.stdin.isTTY && !printOnly)) {
    throw new UsageError(
      'No token given: pass --token-stdin (or --token, or set LATCHKEY_TOKEN). ' +
        `The browser login needs an interactive terminal${io.env.CI ? ' and is off when CI is set' : ''}.`,
    );
  }
  const { loginWithBrowser } = await import('../../browser-login.js');
  const result = await loginWithBrowser(printOnly ? { ...io, openBrowser: undefined } : io, {
    url,
    clientName: (io.hostname ?? osHostname)(),
    verbose: options.verbose,
  });
  return result.token;
}
