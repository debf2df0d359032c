/**
 * The processes under test, each started on its own: the real `latchkey-server` binary
 * (packages/server/dist/main.js) and the better-auth peer (bench/peers/better-auth/peer.mjs).
 */
import { fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, tailBuffer, waitForOk } from './util.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const serverBinary = `${root}packages/server/dist/main.js`;
export const peerDir = `${root}bench/peers/better-auth/`;

/** Every child still running, so an interrupted benchmark can stop them all. */
const running = new Set();

export function stopAll() {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

function track(child) {
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

function stopChild(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  return exited.finally(() => clearTimeout(timer));
}

/**
 * Starts latchkey-server on a free loopback port with LOG_LEVEL=silent (request logging would
 * cost the same on both sides of every ratio and only blur it). With silent logs there is no
 * "listening" line, so readiness is /readyz answering 200 (the server listens only after its
 * migrations, and /readyz checks the database). Its stdout (which may carry a first-admin
 * sign-in link) is kept in memory only and never printed.
 */
export async function startLatchkey({ databaseUrl, logLevel = 'silent', nodeArgs = [] }) {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [...nodeArgs, serverBinary, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: logLevel,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const errors = tailBuffer();
  child.stdout.on('data', () => {}); // drained, never shown
  child.stderr.on('data', (chunk) => errors.push(chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${base}/readyz`, { isAlive: () => child.exitCode === null && child.signalCode === null });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`latchkey-server did not become ready: ${error.message}\n${errors.text}`);
  }
  return { pid: child.pid, base, stop: () => stopChild(child, exited), stderr: () => errors.text };
}

/** Runs the peer's one-off setup (schema, a user, API keys); resolves with the keys (IPC only). */
export function setupPeer(databasePath, keyCount) {
  return new Promise((resolve, reject) => {
    const errors = tailBuffer();
    const child = track(fork(`${peerDir}peer.mjs`, ['setup', databasePath, String(keyCount)], {
      cwd: peerDir,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    }));
    child.stderr.on('data', (chunk) => errors.push(chunk));
    let keys;
    child.on('message', (message) => (keys = message.keys));
    child.on('exit', (code) =>
      code === 0 && keys ? resolve(keys) : reject(new Error(`better-auth peer setup failed (${code}):\n${errors.text}`)),
    );
  });
}

/** Starts the peer's Fastify route (GET /verify) on a free loopback port. */
export function startPeer(databasePath) {
  return new Promise((resolve, reject) => {
    const errors = tailBuffer();
    const child = track(fork(`${peerDir}peer.mjs`, ['serve', databasePath], {
      cwd: peerDir,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    }));
    child.stderr.on('data', (chunk) => errors.push(chunk));
    const exited = new Promise((done) => child.on('exit', (code, signal) => done(code ?? signal)));
    void exited.then((code) => reject(new Error(`better-auth peer exited (${code}):\n${errors.text}`)));
    child.once('message', ({ port }) =>
      resolve({ pid: child.pid, base: `http://127.0.0.1:${port}`, stop: () => stopChild(child, exited) }),
    );
  });
}
