/**
 * The `latchkey` executable: the real process wired into `main`. Everything is reached lazily
 * (stdin, the home directory, fetch, the output streams) so that `--help` and `version` pay
 * for none of it (docs/performance.md, P6).
 */
import { homedir, hostname } from 'node:os';
import type { CliIo } from './io.js';
import { main } from './main.js';
import { descriptorOutput } from './stdio.js';

const exitQuietly = (): never => process.exit(process.exitCode ?? 0);

/** process.stdout/stderr, once something needs them (after EAGAIN, or on Windows). */
function stream(name: 'stdout' | 'stderr'): () => NodeJS.WriteStream {
  return () => {
    const chosen = process[name];
    chosen.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') exitQuietly();
      throw error;
    });
    return chosen;
  };
}

const io: CliIo = {
  env: process.env,
  get home() {
    return homedir();
  },
  fetch: (input, init) => globalThis.fetch(input, init),
  stdout: descriptorOutput(1, stream('stdout'), exitQuietly),
  stderr: descriptorOutput(2, stream('stderr'), exitQuietly),
  get stdin() {
    return process.stdin;
  },
  hostname,
  openBrowser: async (url) => (await import('./open-browser.js')).openBrowser(url),
};

void main(process.argv.slice(2), io).then((exitCode) => {
  process.exitCode = exitCode;
});
