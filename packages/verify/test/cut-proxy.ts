/**
 * A TCP relay between a verifier and Latchkey that can cut the revocation stream while letting
 * introspection through: `cut()` destroys every open connection and refuses any new one that
 * asks for `/api/v1/revocations` until `mend()`; `freeze()` keeps the stream's connection open
 * but passes nothing more on it (a stream gone silent without closing).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface CutProxy {
  readonly base: string;
  cut(): void;
  freeze(): void;
  mend(): void;
  /** Connections that asked for the stream so far. */
  streamRequests(): number;
  close(): Promise<void>;
}

const STREAM_REQUEST = 'GET /api/v1/revocations';

export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  const open = new Set<Socket>();
  let mode: 'open' | 'cut' | 'frozen' = 'open';
  let streamRequests = 0;
  const frozenStreams = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    let carriesStream = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      frozenStreams.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk: Buffer) => {
      if (chunk.toString('latin1').includes(STREAM_REQUEST)) {
        carriesStream = true;
        streamRequests++;
        if (mode === 'cut') return end();
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (carriesStream && (mode === 'frozen' || frozenStreams.has(upstream))) {
        frozenStreams.add(upstream);
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    cut() {
      mode = 'cut';
      for (const socket of [...open]) socket.destroy();
    },
    freeze() {
      mode = 'frozen';
    },
    mend() {
      mode = 'open';
    },
    streamRequests: () => streamRequests,
    async close() {
      for (const socket of [...open]) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
