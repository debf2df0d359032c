/**
 * The one way tests start a server process: the built `latchkey-server` binary
 * (packages/server/dist/main.js), or another entry that serves the same way (the load tests'
 * instrumented server), on 127.0.0.1, talked to over HTTP only.
 *
 * Plain JavaScript with types beside it (server-process.d.mts), because it also runs outside
 * vitest: `npm run soak` reaches it through test/load/harness.mjs with no TypeScript loader.
 *
 * Readiness is what the server itself announces once it accepts connections: the
 * "latchkey-server listening" log line (with the port the OS gave it), or, for an entry started
 * with `ipc: true`, a `{ type: 'listening', port }` IPC message. A server whose database does
 * not answer yet still listens (serving 503), so "ready" here means "listening", never "/readyz
 * is 200"; tests that need the database wait for that themselves.
 *
 * Nothing outlives the test worker: every process started here is killed when the worker exits,
 * even if the test's own clean-up never ran.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const serverBinary = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

const DEFAULT_START_TIMEOUT_MS = 30_000;
/**
 * SIGTERM → SIGKILL escalation for `stop()`: longer than the server's own 10 s drain on SIGTERM,
 * so the harness never cuts a graceful stop short; it only ends a process that hangs.
 */
const DEFAULT_STOP_GRACE_MS = 15_000;
/** Output kept once the server is up (request logs under load would grow without bound). */
const OUTPUT_TAIL_CHARS = 64 * 1024;
const LISTENING_LINE = /"port":(\d+)[^\n]*latchkey-server listening/;
/** Printed on stdout at start until a first administrator has signed in. */
const SIGN_IN_LINE = /^Sign-in link: (\S+)$/m;
const QUIET_LOG_LEVELS = new Set(['warn', 'error', 'fatal', 'silent']);

const live = new Map();
process.on('exit', () => {
  for (const [child, signal] of live) child.kill(signal);
});

/**
 * Makes sure `child` does not outlive this process: should it exit before the test cleaned up,
 * the child gets `signal`. Returns `child`.
 */
export function killOnExit(child, signal = 'SIGKILL') {
  live.set(child, signal);
  child.once('exit', () => live.delete(child));
  return child;
}

/** A port free on 127.0.0.1 right now, for a server whose PUBLIC_URL must name its own port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Builds the server (`tsc -b packages/contract packages/server`) if its build output is missing,
 * as in a fresh clone. Test files in parallel workers share one build through a lock directory.
 */
export function ensureServerBuilt() {
  if (existsSync(serverBinary)) return;
  withBuildLock('latchkey-server-build.lock', () => {
    if (existsSync(serverBinary)) return; // another worker built it while this one waited
    const build = spawnSync('npx', ['tsc', '-b', 'packages/contract', 'packages/server'], { cwd: repositoryRoot, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('building the server (tsc -b packages/contract packages/server) failed');
  });
}

/** packages/cli/bin/latchkey.cjs: the `latchkey` command as installed (it runs the bundle `buildCli()` writes). */
export const cliBinary = fileURLToPath(new URL('../../../cli/bin/latchkey.cjs', import.meta.url));

/** Bundles the CLI again (esbuild, well under a second), so `cliBinary` runs today's sources. */
export function buildCli() {
  const build = spawnSync(process.execPath, ['packages/cli/scripts/build.mjs'], { cwd: repositoryRoot, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`the CLI build failed:\n${build.stdout}\n${build.stderr}`);
}

/**
 * Runs the `latchkey` command (`cliBinary`) with `args` and exactly `env` (nothing inherited);
 * resolves with its exit code and everything it wrote once it has exited.
 */
export function runCli(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBinary, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `build` holding a lock directory in the temp dir; a lock older than 2 minutes is stale. */
export function withBuildLock(name, build) {
  const lock = `${tmpdir()}/${name}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Left by a killed run: a build takes well under two minutes.
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${lock} held for 2 minutes: remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    return build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * `latchkey-server signin-link [--email]` with `env` (DATABASE_URL, PUBLIC_URL…): a fresh one-time
 * sign-in link, for the first administrator or for `email` (the account is created if needed).
 */
export function issueSignInLink(env, email) {
  const result = spawnSync(process.execPath, [serverBinary, 'signin-link', ...(email ? ['--email', email] : [])], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`signin-link failed (${result.status ?? result.signal}): ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * Starts a server process and resolves once it listens; rejects (with everything the process
 * wrote) if it exits first or does not listen within `startTimeoutMs`. See server-process.d.mts.
 */
export function startServer(options = {}) {
  const {
    name = 'latchkey-server',
    entry = serverBinary,
    args = [],
    env = {},
    port = 0,
    ipc = false,
    expectSignInLink = false,
    startTimeoutMs = DEFAULT_START_TIMEOUT_MS,
  } = options;
  const childEnv = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: String(port) };
  if (!ipc && QUIET_LOG_LEVELS.has(childEnv.LOG_LEVEL)) {
    return Promise.reject(new Error(`${name}: LOG_LEVEL=${childEnv.LOG_LEVEL} hides the "listening" line that tells it is up; use info`));
  }
  const child = killOnExit(
    spawn(process.execPath, [entry, ...args], {
      env: childEnv,
      // No inherited --inspect, loaders or test-runner flags: a server as deployed.
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
    }),
  );

  let output = '';
  let settled = false;
  let signInLink;
  let announcedPort;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const running = () => child.exitCode === null && child.signalCode === null;

  const stop = async (graceMs = DEFAULT_STOP_GRACE_MS) => {
    if (!running()) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killer);
  };
  const kill = async (signal = 'SIGKILL') => {
    if (running()) child.kill(signal);
    await exited;
  };

  return new Promise((resolve, reject) => {
    const fail = (message) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true; // later output only feeds the tail
      void kill();
      reject(new Error(`${name}: ${message}\n--- its output ---\n${output}`));
    };
    const timer = setTimeout(() => fail(`did not listen within ${startTimeoutMs} ms`), startTimeoutMs);
    const settleIfReady = () => {
      if (settled || announcedPort === undefined) return;
      // The link is printed before the server listens, on the same stream as the listening
      // line: once that line is read, a link not seen was never printed.
      if (expectSignInLink && signInLink === undefined) return fail('listened without printing a "Sign-in link:" line');
      settled = true;
      clearTimeout(timer);
      resolve({
        name,
        pid: child.pid,
        port: announcedPort,
        base: `http://127.0.0.1:${announcedPort}`,
        child,
        output: () => output,
        get signInLink() {
          return signInLink;
        },
        get signInPath() {
          return signInLink === undefined ? undefined : new URL(signInLink).pathname;
        },
        exited,
        stop,
        kill,
      });
    };
    const onData = (chunk) => {
      output += chunk.toString();
      if (signInLink === undefined) signInLink = SIGN_IN_LINE.exec(output)?.[1];
      if (settled) {
        if (output.length > 2 * OUTPUT_TAIL_CHARS) output = output.slice(-OUTPUT_TAIL_CHARS);
        return;
      }
      if (!ipc) {
        const listening = LISTENING_LINE.exec(output);
        if (listening) announcedPort = Number(listening[1]);
      }
      settleIfReady();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    if (ipc) {
      child.on('message', (message) => {
        if (message?.type !== 'listening') return;
        announcedPort = message.port;
        settleIfReady();
      });
    }
    child.once('error', (error) => fail(`could not be started: ${error.message}`));
    void exited.then(({ code, signal }) => fail(`exited (${code ?? signal}) before listening`));
  });
}
