/**
 * P11's verifier process (bench/p11-revocation.mjs starts it with an IPC channel): a warm
 * @latchkey/verify verifier on LATCHKEY_URL with LATCHKEY_TOKEN, checking about
 * LATCHKEY_P11_RATE tokens a second (the background tokens it is sent, in turn, and the watched
 * one). For each trial the parent sends `{ type: 'watch', secret }`: the token is verified until
 * it is cached (`{ type: 'warm' }`), then checked on every tick until refused, and the refusal's
 * time (performance.timeOrigin + now, comparable across processes) is sent back.
 */
import { performance } from 'node:perf_hooks';
import { createVerifier } from '../../packages/verify/dist/index.js';

const now = () => performance.timeOrigin + performance.now();
const rate = Number(process.env.LATCHKEY_P11_RATE) || 1_000;
const verifier = createVerifier({ url: process.env.LATCHKEY_URL, token: process.env.LATCHKEY_TOKEN, onError: (error) => process.send({ type: 'error', message: error.message }) });

let background = [];
let watched;
let verifications = 0;
let stopped = false;

process.on('message', async (message) => {
  if (message.type === 'background') background = message.secrets;
  else if (message.type === 'watch') {
    const { secret } = message;
    const first = await verifier.verify(secret);
    const hits = verifier.stats().cacheHits;
    const second = await verifier.verify(secret);
    const cached = verifier.stats().cacheHits > hits;
    if (!first.ok || !second.ok) return process.send({ type: 'error', message: `a fresh token was refused: ${first.code ?? second.code}` });
    watched = { secret };
    process.send({ type: 'warm', cached });
  } else if (message.type === 'stop') {
    stopped = true;
    await verifier.close();
    process.send({ type: 'stopped', verifications });
    process.disconnect();
  }
});

await verifier.ready(60_000);
process.send({ type: 'ready' });

// The load: one verification per 1/rate s on average, a watched token checked at every tick.
const started = now();
let index = 0;
while (!stopped) {
  const due = started + (verifications * 1000) / rate;
  const wait = due - now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(wait))));
  else await new Promise((resolve) => setImmediate(resolve));
  if (stopped) break;
  const current = watched;
  if (current) {
    verifications++;
    const result = await verifier.verify(current.secret);
    if (!result.ok && watched === current) {
      watched = undefined;
      process.send({ type: 'refused', at: now(), code: result.code });
    }
  }
  if (background.length > 0) {
    verifications++;
    await verifier.verify(background[index++ % background.length]);
  }
}
