/**
 * Fires a list of HTTP requests all at once, each on its own connection, and prints one JSON
 * line with every answer's status, latency, Retry-After and body. Run as its own process so
 * that sending 200 requests never shares an event loop (or a CPU budget) with the server whose
 * latency it measures (docs/security.md, "The battery": load is driven from a process of its own).
 *
 * Input (stdin, JSON): { base, requests: [{ method, path, headers, body }] }
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { base, requests } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const { hostname, port } = new URL(base);

function send({ method, path, headers, body }) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      const parts = [];
      res.on('data', (part) => parts.push(part));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          ms: performance.now() - started,
          retryAfter: res.headers['retry-after'] ?? null,
          body: Buffer.concat(parts).toString('utf8'),
        }),
      );
    });
    req.on('error', (error) => resolve({ status: 0, ms: performance.now() - started, retryAfter: null, body: String(error) }));
    req.end(body);
  });
}

const results = await Promise.all(requests.map(send));
process.stdout.write(`${JSON.stringify(results)}\n`);
