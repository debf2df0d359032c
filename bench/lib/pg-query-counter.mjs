/**
 * P4's query counter for PostgreSQL: a loopback TCP relay between latchkey-server and
 * PostgreSQL that counts the statements the server sends, read from the wire protocol
 * (frontend messages 'Q' simple query and 'E' execute of the extended protocol, which
 * node-postgres uses for every parameterised query). Exact, immediate (no statistics flush
 * delay as with pg_stat_database) and needs no server change or PostgreSQL extension.
 *
 * Only the P4 setups (hello and bad-checksum flood) go through it; the throughput setups of
 * P3 and P5 talk to PostgreSQL directly.
 */
import { connect, createServer } from 'node:net';

export function startQueryCounter({ host = '127.0.0.1', port = 5432 } = {}) {
  let statements = 0;
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    let buffer = Buffer.alloc(0);
    let untyped = true; // startup, SSLRequest and GSSENCRequest messages carry no type byte
    client.on('data', (chunk) => {
      upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (untyped) {
          if (buffer.length < 8) break;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) break;
          const code = buffer.readInt32BE(4);
          // SSLRequest (80877103) and GSSENCRequest (80877104) are followed by another untyped startup.
          if (code !== 80877103 && code !== 80877104) untyped = false;
          buffer = buffer.subarray(length);
          continue;
        }
        if (buffer.length < 5) break;
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) break;
        const type = String.fromCharCode(buffer[0]);
        if (type === 'Q' || type === 'E') statements++;
        buffer = buffer.subarray(1 + length);
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        count: () => statements,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
