/**
 * Processes for the load tests (the invalid-token flood and the soak), shared by the vitest
 * files and by `npm run soak`: the instrumented server (instrumented-server.mjs, started through
 * test/support/server-process.mjs) and open-loop load clients (load-client.mjs), each its own
 * process, talked to over IPC. Plain JavaScript on the built server, so `npm run soak` runs
 * without a TypeScript loader; harness.d.mts types it for tests.
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateToken } from '../../../contract/dist/token.js';
import { killOnExit, startServer } from '../support/server-process.mjs';

const serverEntry = fileURLToPath(new URL('./instrumented-server.mjs', import.meta.url));
const clientEntry = fileURLToPath(new URL('./load-client.mjs', import.meta.url));

export async function startInstrumentedServer(env) {
  const server = await startServer({ name: 'instrumented server', entry: serverEntry, env, ipc: true });
  const { child } = server;

  let nextId = 0;
  const pending = new Map();
  child.on('message', (message) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message);
    else waiter.reject(new Error(message.error));
  });
  const call = (type, input = {}) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      child.send({ id, type, ...input });
    });

  return {
    pid: server.pid,
    base: server.base,
    output: server.output,
    /** Seen by the server process itself: statements sent, limiter size and cap, RSS, open fds. */
    stats: () => call('stats'),
    seed: async (accounts, tokensPerAccount) => (await call('seed', { accounts, tokensPerAccount })).secrets,
    stop: () => server.stop(),
  };
}

/**
 * Resident set size and open descriptors of any process, read from outside through /proc;
 * sockets counted apart (their number follows the clients' connections, not a leak).
 */
export function processFigures(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  let fds = 0;
  let socketFds = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    fds++;
    if (target.startsWith('socket:')) socketFds++;
  }
  return { rss: rssKb * 1024, fds, socketFds };
}

/**
 * Runs one load plan (see load-client.mjs) in a fresh client process. `signal` aborts the plan
 * early by killing the client (whatever it measured is lost).
 */
export function runLoad(plan) {
  const child = killOnExit(fork(clientEntry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }));
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      child.disconnect();
      if (message.type === 'result') resolve(message.result);
      else reject(new Error(message.error));
    });
    child.once('exit', (code) => reject(new Error(`load client exited (${code}) without a result`)));
    child.send({ type: 'run', plan });
  });
}

/** Tokens the server has never issued: well-formed (correct CRC), so they reach the lookup. */
export function unknownTokens(count) {
  return Array.from({ length: count }, () => generateToken().token);
}

/** Tokens whose CRC fails: a real-looking token with its last character changed. */
export function checksumFailingTokens(count) {
  return unknownTokens(count).map((token) => token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'));
}

/** The q-quantile (0..1) by nearest rank; NaN for no values. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(values) {
  return quantile(values, 0.5);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
