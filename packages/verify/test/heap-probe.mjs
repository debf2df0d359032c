/**
 * Run by memory.test.ts with --expose-gc: reads a token from stdin (never from argv or the
 * environment, which stay in memory), verifies it until it is cached, lets go of it, collects
 * garbage and writes a heap snapshot, whose path it prints. The verifier stays open (its cache
 * full): what it holds is what the snapshot shows.
 */
import { writeHeapSnapshot } from 'node:v8';
import { createVerifier } from '../dist/index.js';

const [url, serviceToken, directory] = process.argv.slice(2);
const verifier = createVerifier({ url, token: serviceToken });
await verifier.ready();

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
async function verifyOnce(bytes) {
  const secret = Buffer.concat(bytes).toString('latin1');
  bytes.splice(0).forEach((chunk) => chunk.fill(0));
  const first = await verifier.verify(secret);
  const second = await verifier.verify(secret);
  return { first: first.ok, second: second.ok, cached: verifier.stats().cached };
}
const result = await verifyOnce(chunks);
// V8 keeps the subject of the last regular-expression match in its own (RegExp.lastMatch)
// state; another match replaces it, so the snapshot shows what the verifier keeps.
/x/.test('x');
await new Promise((resolve) => setTimeout(resolve, 200));
for (let round = 0; round < 4; round++) globalThis.gc();
const path = writeHeapSnapshot(`${directory}/verifier.heapsnapshot`);
process.stdout.write(`${JSON.stringify({ ...result, path })}\n`);
await verifier.close();
