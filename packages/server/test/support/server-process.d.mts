/** Types for server-process.mjs (plain JavaScript so that `npm run soak` needs no TypeScript loader). */
import type { ChildProcess } from 'node:child_process';

/** The repository's root directory, with a trailing slash. */
export const repositoryRoot: string;
/** packages/server/dist/main.js: the `latchkey-server` binary as built. */
export const serverBinary: string;

export interface StartServerOptions {
  /** Names the process in error messages (e.g. 'A', 'B (restarted)'). */
  name?: string;
  /** The script to run with node; the built binary unless told otherwise. */
  entry?: string;
  /** Arguments after the script (the binary's default command is `serve`). */
  args?: string[];
  /**
   * The server's whole environment, on top of PATH, HOST=127.0.0.1 and LOG_LEVEL=info (nothing
   * else is inherited, so a developer's DATABASE_URL never leaks in). LOG_LEVEL must stay at
   * info or lower unless `ipc` is set: readiness is read from the info-level listening line.
   */
  env?: Record<string, string>;
  /**
   * The port to listen on; by default one the OS assigns, read back from the listening line.
   * Pass one from `freePort()` when PUBLIC_URL must name the server's own address.
   */
  port?: number;
  /**
   * Opens an IPC channel (`child.send`, `child.on('message')`); readiness is then the entry's
   * `{ type: 'listening', port }` message instead of the log line.
   */
  ipc?: boolean;
  /**
   * Fail the start unless the binary prints the first administrator's "Sign-in link:" line
   * (printed at every start until an administrator has signed in). Not with `ipc`.
   */
  expectSignInLink?: boolean;
  /** Default 30 s: the machine may be busy. */
  startTimeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly child: ChildProcess;
  /** stdout and stderr interleaved: everything until it listened, then the last 64 KiB or more. */
  output(): string;
  /** The one-time first-administrator link printed at start, exactly as printed, if any. */
  readonly signInLink: string | undefined;
  /** `signInLink`'s path, to redeem against `base` whatever PUBLIC_URL says. */
  readonly signInPath: string | undefined;
  /** Settles when the process has exited, for whatever reason. */
  readonly exited: Promise<Exit>;
  /**
   * SIGTERM, then SIGKILL if it has not exited after `graceMs` (default 15 s, longer than the
   * server's own drain); resolves once it has exited (how: `exited`). Safe to call more than once.
   */
  stop(graceMs?: number): Promise<void>;
  /** Sends `signal` (default SIGKILL) unless it has exited; resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startServer(options?: StartServerOptions): Promise<ServerProcess>;

/** Builds the server if packages/server/dist/main.js is missing (one worker at a time). */
export function ensureServerBuilt(): void;

/** packages/cli/bin/latchkey.cjs: the `latchkey` command as installed. */
export const cliBinary: string;

/** Bundles the CLI (packages/cli/scripts/build.mjs), so `cliBinary` runs today's sources; throws if it fails. */
export function buildCli(): void;

/** What a finished `latchkey` run printed, and its exit code. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cliBinary` with `args` and exactly `env` (nothing inherited), until it exits. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliRun>;

/** Runs `build` while holding the lock directory `name` in the temp dir (one worker at a time). */
export function withBuildLock<T>(name: string, build: () => T): T;

/** A fresh one-time sign-in link from `latchkey-server signin-link` run with `env`. */
export function issueSignInLink(env: Record<string, string>, email?: string): string;

/** A port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number>;

/** Kills `child` with `signal` (default SIGKILL) should this process exit first; returns it. */
export function killOnExit<T extends ChildProcess>(child: T, signal?: NodeJS.Signals): T;
