/**
 * Standard output and error for the real process, without Node's stream machinery: the first
 * touch of `process.stdout` loads node:stream and friends (~2–3 ms, a quarter of what P6
 * allows over `node -e 0`). Text goes out with `fs.writeSync` on the file descriptor, as
 * Node's own stdout does for files; only if the descriptor is non-blocking and full (EAGAIN,
 * a slow reader on a pipe) does the rest go through `process.stdout`/`process.stderr`, which
 * then takes every later write, so the order holds. On Windows the streams are used as before.
 */
import { writeSync } from 'node:fs';
import type { OutputStream } from './io.js';

export function descriptorOutput(fd: 1 | 2, stream: () => NodeJS.WriteStream, onClosed: () => never): OutputStream {
  let fallback: NodeJS.WriteStream | undefined = process.platform === 'win32' ? stream() : undefined;
  return {
    write(text: string) {
      if (fallback) return fallback.write(text);
      const bytes = Buffer.from(text, 'utf8');
      let offset = 0;
      try {
        while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // `latchkey namespace list | head -1`: a closed pipe is the reader's choice, not an error.
        if (code === 'EPIPE') onClosed();
        if (code !== 'EAGAIN') throw error;
        fallback = stream();
        return fallback.write(bytes.subarray(offset));
      }
      return true;
    },
    // No `isTTY`: no command asks it of an output, and node:tty would load node:net and streams.
  };
}
