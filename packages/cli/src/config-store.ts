/**
 * Stored contexts: `$LATCHKEY_HOME/config.json` (default `~/.latchkey`), the directory 0700
 * and the file 0600 because it holds tokens. Written atomically (temp file + rename) so a
 * crash never leaves half a config. The temp file has an unguessable name and is created
 * exclusively (`wx`), so a symbolic link planted where it will be is never followed
 * (docs/security.md, item 60). Commands running on environment credentials alone never
 * call `writeConfig`, so CI needs no config file.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './cli-errors.js';
import { latchkeyHome, type CliIo } from './io.js';

export interface StoredContext {
  name: string;
  /** The server's base URL, normalised (no trailing slash). */
  url: string;
  /** `name`: the account's display name (absent in configs written before it was stored). */
  account: { id: string; email: string | null; name?: string | null };
  /** The personal access token; null once revoked with `latchkey token revoke`. */
  token: string | null;
  tokenName: string | null;
  /** RFC 3339, as last reported by the server. */
  tokenExpiresAt: string | null;
  /** The default namespace (`latchkey namespace use`). */
  namespace: string | null;
}

export interface CliConfig {
  currentContext: string | null;
  contexts: StoredContext[];
}

export const CONFIG_FILE = 'config.json';

export function configPath(io: CliIo): string {
  return join(latchkeyHome(io), CONFIG_FILE);
}

export function readConfig(io: CliIo): CliConfig {
  const path = configPath(io);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { currentContext: null, contexts: [] };
    throw new CliError(`Could not read ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as Partial<CliConfig>;
    if (!Array.isArray(parsed.contexts)) throw new Error('no "contexts" list');
    return { currentContext: parsed.currentContext ?? null, contexts: parsed.contexts };
  } catch (error) {
    throw new CliError(`${path} is not a valid latchkey config (${(error as Error).message}); fix or delete it.`);
  }
}

export function writeConfig(io: CliIo, config: CliConfig): void {
  const dir = latchkeyHome(io);
  let created = false;
  try {
    statSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    created = true;
  }
  // Only a directory we made is ours to tighten; a LATCHKEY_HOME the user pointed elsewhere is not.
  if (created || dir === join(io.home, '.latchkey')) chmodSync(dir, 0o700);
  const path = join(dir, CONFIG_FILE);
  const temporary = `${path}.${randomBytes(12).toString('hex')}.tmp`;
  let opened = false;
  try {
    // `wx` fails on anything already there, a symbolic link included; the umask cannot widen
    // the mode, and fchmod pins it whatever the umask narrowed.
    const fd = openSync(temporary, 'wx', 0o600);
    opened = true;
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, `${JSON.stringify(config, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    // Only a file this call created is removed: never something planted under that name.
    if (opened) rmSync(temporary, { force: true });
    throw new CliError(`Could not write ${path}: ${(error as Error).message}`);
  }
}

export function findContext(config: CliConfig, name: string): StoredContext | undefined {
  return config.contexts.find((context) => context.name === name);
}

export function currentContext(config: CliConfig): StoredContext | undefined {
  return config.currentContext === null ? undefined : findContext(config, config.currentContext);
}

/** Adds or replaces the context of that name. */
export function upsertContext(config: CliConfig, context: StoredContext): CliConfig {
  const others = config.contexts.filter((existing) => existing.name !== context.name);
  return { ...config, contexts: [...others, context] };
}
