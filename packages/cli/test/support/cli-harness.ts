/**
 * Runs CLI commands in-process the way the binary does (`main(argv, io)`), with captured
 * output, a temporary home, and any `fetch`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { CliIo, InputStream } from '../../src/io.js';
import { main } from '../../src/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Text on standard input (not a terminal). */
  stdin?: string;
  /** Pretend standard input is a terminal; `stdin` then holds what the user types. */
  tty?: boolean;
  fetch?: typeof fetch;
  openBrowser?: CliIo['openBrowser'];
  now?: () => number;
  /** Sees stderr as it is written (the result has all of it at the end). */
  onStderr?: (text: string) => void;
}

export interface CliHarness {
  home: string;
  /** `$LATCHKEY_HOME` (the default: `<home>/.latchkey`). */
  latchkeyHome: string;
  run(argv: string[], options?: RunOptions): Promise<CliResult>;
  cleanup(): void;
}

export function createCliHarness(defaults: RunOptions = {}): CliHarness {
  const home = mkdtempSync(join(tmpdir(), 'latchkey-cli-home-'));
  return {
    home,
    latchkeyHome: join(home, '.latchkey'),
    async run(argv, options = {}) {
      const merged = { ...defaults, ...options, env: { ...defaults.env, ...options.env } };
      let stdout = '';
      let stderr = '';
      const stdin = Readable.from(merged.stdin === undefined ? [] : [Buffer.from(merged.stdin)]) as Readable & InputStream;
      stdin.isTTY = merged.tty ?? false;
      const code = await main(argv, {
        env: merged.env,
        home,
        fetch: merged.fetch ?? (() => Promise.reject(new Error('this test makes no requests'))),
        stdout: { write: (text: string) => (stdout += text), isTTY: false },
        stderr: {
          write: (text: string) => {
            stderr += text;
            merged.onStderr?.(text);
            return true;
          },
          isTTY: false,
        },
        stdin,
        openBrowser: merged.openBrowser ?? (async () => false),
        hostname: () => 'test-host',
        now: merged.now,
      });
      return { code, stdout, stderr };
    },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}
