/**
 * An open-loop HTTP load generator, run as its own process (forked by harness.mjs) so that
 * generating load never shares an event loop with the server or with the process measuring
 * latency. Plain `node:http` with a keep-alive agent: no load-testing dependency.
 *
 * Open loop: requests are sent on a fixed schedule (`rate` per second) whether or not earlier
 * ones have been answered, so a slow server shows up as latency instead of being hidden by a
 * client that politely waits (coordinated omission). Latency is measured from the
 * moment it was actually handed to the socket layer (the schedule's own tick jitter, a few ms,
 * would otherwise swamp the millisecond latencies being compared). A request still unanswered
 * after `timeoutMs` counts as an error.
 *
 * Plan (one IPC message `{ type: 'run', plan }`; the answer is `{ type: 'result', result }`):
 *   base         http://127.0.0.1:PORT
 *   durationMs   how long to send
 *   rate         requests per second, all streams together
 *   connections  keep-alive sockets
 *   streams      [{ name, weight, path, tokens: string[], addressPrefix?, addressCount? }]
 *                each request picks a stream by weight, the next token of that stream in
 *                rotation and, with addressPrefix, `X-Forwarded-For: <prefix><n>` for the next
 *                n of addressCount addresses (a.b.c.d built from n).
 *   recordLatencies  keep [sendEpochMs, latencyMs, status] per request for these stream names
 *   maxInFlight  when this many requests are unanswered, scheduled requests are skipped (counted
 *                as `skipped`) instead of queued: a closed-loop cap for measuring capacity
 *   dutyCycle    { onMs, offMs }: send only during the on-periods (at `rate`), idle in between;
 *                the on-periods are reported as `onWindows` ([startEpochMs, endEpochMs] each)
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const TICK_MS = 2;

/** The n-th address under a prefix of 1–3 octets, e.g. ('10.', 70000) → 10.1.17.112. */
export function addressFor(prefix, n) {
  const free = 4 - prefix.split('.').filter(Boolean).length;
  const octets = [];
  for (let i = 0; i < free; i++) {
    octets.unshift(String(n % 256));
    n = Math.floor(n / 256);
  }
  return prefix + octets.join('.');
}

async function run(plan) {
  const { base, durationMs, rate, connections, streams, recordLatencies = [], timeoutMs = 10_000, dutyCycle } = plan;
  const maxInFlight = plan.maxInFlight ?? Number.POSITIVE_INFINITY;
  let skipped = 0;
  const period = dutyCycle ? dutyCycle.onMs + dutyCycle.offMs : 0;
  /** Sending time elapsed by `t` ms into the run: all of it, or only the on-periods. */
  const onTime = (t) =>
    dutyCycle ? Math.floor(t / period) * dutyCycle.onMs + Math.min(t % period, dutyCycle.onMs) : t;
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const url = new URL(base);
  const totalWeight = streams.reduce((sum, stream) => sum + stream.weight, 0);
  const state = streams.map((stream) => ({
    stream,
    record: recordLatencies.includes(stream.name),
    nextToken: 0,
    nextAddress: 0,
    sent: 0,
    statuses: {},
    errors: 0,
    badRetryAfter: 0,
    samples: [],
  }));
  // Deterministic weighted interleaving: stream i gets its share of every `totalWeight` requests.
  const schedule = [];
  for (const [index, stream] of streams.entries()) for (let w = 0; w < stream.weight; w++) schedule.push(index);
  shuffleInPlace(schedule);

  let scheduled = 0;
  let inFlight = 0;
  const origin = performance.timeOrigin;
  const started = performance.now();
  const firstSendEpochMs = origin + started;

  const sendOne = () => {
    const sentAt = performance.now();
    const entry = state[schedule[scheduled % schedule.length]];
    scheduled++;
    const { stream } = entry;
    const headers = { authorization: `Bearer ${stream.tokens[entry.nextToken++ % stream.tokens.length]}` };
    if (stream.addressPrefix) {
      headers['x-forwarded-for'] = addressFor(stream.addressPrefix, entry.nextAddress++ % stream.addressCount);
    }
    entry.sent++;
    inFlight++;
    let settled = false;
    const finish = (status, retryAfter) => {
      if (settled) return;
      settled = true;
      inFlight--;
      if (status === 0) {
        entry.errors++;
        return;
      }
      entry.statuses[status] = (entry.statuses[status] ?? 0) + 1;
      if (status === 429 && !(Number.isInteger(Number(retryAfter)) && Number(retryAfter) > 0)) entry.badRetryAfter++;
      if (entry.record) entry.samples.push([origin + sentAt, performance.now() - sentAt, status]);
    };
    const req = request(
      { host: url.hostname, port: url.port, path: stream.path, method: 'GET', agent, headers, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode, res.headers['retry-after']));
        res.on('error', () => finish(0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => finish(0));
    req.end();
  };

  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const elapsed = Math.min(now - started, durationMs);
      const due = Math.floor((onTime(elapsed) * rate) / 1000);
      while (scheduled < due) {
        if (inFlight >= maxInFlight) {
          skipped += due - scheduled;
          scheduled = due;
          break;
        }
        sendOne();
      }
      if (now - started >= durationMs) return resolve();
      setTimeout(tick, TICK_MS);
    };
    tick();
  });
  const lastSendEpochMs = origin + performance.now();
  const drainDeadline = performance.now() + timeoutMs + 1000;
  while (inFlight > 0 && performance.now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 10));
  agent.destroy();

  const onWindows = [];
  if (dutyCycle) {
    for (let start = 0; start < durationMs; start += period) {
      onWindows.push([firstSendEpochMs + start, firstSendEpochMs + Math.min(start + dutyCycle.onMs, durationMs)]);
    }
  }
  return {
    onWindows,
    firstSendEpochMs,
    lastSendEpochMs,
    scheduled,
    skipped,
    achievedRate: ((scheduled - skipped) * 1000) / onTime(lastSendEpochMs - firstSendEpochMs),
    unanswered: inFlight,
    streams: Object.fromEntries(
      state.map((entry) => [
        entry.stream.name,
        {
          sent: entry.sent,
          statuses: entry.statuses,
          errors: entry.errors,
          badRetryAfter: entry.badRetryAfter,
          samples: entry.samples,
        },
      ]),
    ),
  };
}

function shuffleInPlace(items) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}

if (process.send) {
  process.on('message', async (message) => {
    if (message?.type !== 'run') return;
    try {
      process.send({ type: 'result', result: await run(message.plan) });
    } catch (error) {
      process.send({ type: 'error', error: String(error?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
