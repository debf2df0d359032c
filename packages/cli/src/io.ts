/**
 * Everything a command touches outside its own logic, injected so tests run commands
 * in-process against the real server's `app.inject` and a temporary home.
 */
import { join } from 'node:path';

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface InputStream extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
}

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory; config lives in `$LATCHKEY_HOME`, else `<home>/.latchkey`. */
  home: string;
  fetch: typeof fetch;
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  /** Opens a URL in the user's browser; false when it could not. */
  openBrowser?: (url: string) => Promise<boolean>;
  /** The machine name the browser login names its token after. */
  hostname?: () => string;
  now?: () => number;
}

export function latchkeyHome(io: CliIo): string {
  return io.env.LATCHKEY_HOME || join(io.home, '.latchkey');
}

export function nowOf(io: CliIo): number {
  return io.now ? io.now() : Date.now();
}
