/**
 * P4's query counter for PostgreSQL: a loopback TCP relay between latchkey-server and
 * PostgreSQL that counts the statements the server sends, read from the wire protocol
 * (frontend messages 'Q' simple query and 'E' execute of the extended protocol, which
 * node-postgres uses for every parameterised query). Exact, immediate (no statistics flush
 * delay as with pg_stat_database) and needs no server change or PostgreSQL extension.
 *
 * It also keeps the text of each counted statement (from 'Q', or for 'E' the 'Parse' of the
 * statement its portal was bound to), so a nonzero count can say which statements they were.
 * Only the text is kept, never a bound parameter (which could be a token digest).
 *
 * Only the P4 setups (hello and bad-checksum flood) go through it; the throughput setups of
 * P3 and P5 talk to PostgreSQL directly.
 */
import { connect, createServer } from 'node:net';

/** A null-terminated string at `offset`: its text and the offset after the terminator. */
function cString(buffer, offset) {
  const end = buffer.indexOf(0, offset);
  if (end < 0) return { text: '', next: buffer.length };
  return { text: buffer.toString('utf8', offset, end), next: end + 1 };
}

export function startQueryCounter({ host = '127.0.0.1', port = 5432 } = {}) {
  let statements = 0;
  /** The text of every counted statement in order, with when it was sent (epoch ms). */
  const log = [];
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    let buffer = Buffer.alloc(0);
    let untyped = true; // startup, SSLRequest and GSSENCRequest messages carry no type byte
    /** Prepared statement name → its text; portal name → its statement's text (this connection's). */
    const prepared = new Map();
    const portals = new Map();
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
        const body = buffer.subarray(5, 1 + length);
        if (type === 'P') {
          const name = cString(body, 0);
          prepared.set(name.text, cString(body, name.next).text);
        } else if (type === 'B') {
          const portal = cString(body, 0);
          portals.set(portal.text, prepared.get(cString(body, portal.next).text) ?? '(unknown prepared statement)');
        } else if (type === 'Q' || type === 'E') {
          statements++;
          const text = type === 'Q' ? cString(body, 0).text : (portals.get(cString(body, 0).text) ?? '(unknown portal)');
          log.push({ at: Date.now(), text });
        }
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
        /** The statements counted since `count()` was `from`: [{ at, text }]. */
        statementsSince: (from) => log.slice(from),
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Distinct statements by their first 80 characters (whitespace collapsed), most frequent first. */
export function summariseStatements(statements) {
  const counts = new Map();
  for (const { text } of statements) {
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 80);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([text, count]) => ({ text, count }));
}
