/**
 * The README's "Protect a service with Latchkey tokens" recipes, as tests run them: the fenced
 * blocks under each of the section's headings, the shell commands run with bash in a bare
 * environment, the demo service (the section's `node -e … &` block) and the Node recipe's
 * service (`### Node (@latchkey/verify)`) started as a reader starts them. The only change made
 * to a block is its port numbers (Latchkey 8080, the service 9000, the Node service 3000, nginx
 * 8000, Caddy 8001), replaced by free loopback ports. Used by test/scale/readme-recipes.test.ts
 * and test/browser/protect-a-service.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { killOnExit, repositoryRoot, withBuildLock } from './server-process.mjs';

export const SECTION = 'Protect a service with Latchkey tokens';

export interface Block {
  info: string;
  code: string;
}

/**
 * The fenced blocks of README.md under each heading of `section` (its own text before the first
 * subsection under the section's name), in order.
 */
function recipeBlocks(readme: string, section: string): Map<string, Block[]> {
  const blocks = new Map<string, Block[]>();
  let inSection = false;
  let heading = '';
  // Fences outside the section are followed too, so that their lines are never taken for headings.
  let fence: Block | undefined;
  for (const line of readme.split('\n')) {
    if (fence) {
      if (line === '```') {
        if (inSection) blocks.get(heading)!.push(fence);
        fence = undefined;
      } else {
        fence.code += `${line}\n`;
      }
      continue;
    }
    const title = /^(##|###) (.*)$/.exec(line);
    if (title) {
      if (title[1] === '##') inSection = title[2] === section;
      heading = title[2]!;
      if (inSection && !blocks.has(heading)) blocks.set(heading, []);
      continue;
    }
    const open = /^```(\S*)$/.exec(line);
    if (open) fence = { info: open[1]!, code: '' };
  }
  return blocks;
}

export const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
const recipes = recipeBlocks(readme, SECTION);

/** The blocks under `heading`, checked against the info strings the recipe is written with. */
export function blocksOf(heading: string, infos: string[]): Block[] {
  const found = recipes.get(heading);
  if (!found) throw new Error(`README.md has no "${heading}" heading in "## ${SECTION}"`);
  expect(found.map((block) => block.info), `the fenced blocks under "${heading}"`).toEqual(infos);
  return found;
}

/** `text` with every `from` replaced by `to`; `from` must occur at least `atLeast` times. */
export function replacePort(text: string, from: string, to: string, atLeast = 1): string {
  const count = text.split(from).length - 1;
  if (count < atLeast) throw new Error(`expected ${from} at least ${atLeast} times in:\n${text}`);
  return text.split(from).join(to);
}

/** The commands of a shell block: its lines without comments-only or blank lines. */
export function commandLines(code: string): string[] {
  return code.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the script wrote to file descriptor 3 (the harness's channel for variables it set). */
  fd3: string;
}

/**
 * Runs `script` with bash in the repository (as the README's reader would, after `npm ci`),
 * with nothing of this process's environment but PATH, plus `env`.
 */
export function bash(script: string, env: Record<string, string>, home: string): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: repositoryRoot,
      env: { PATH: process.env.PATH ?? '', HOME: home, LATCHKEY_HOME: join(home, '.latchkey'), ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '', fd3: '' };
    child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (output.fd3 += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ...output });
    });
  });
}

/** A `curl -i` answer: status, headers (lower-case names) and body. */
export function parseCurlInclude(stdout: string): { status: number; headers: Map<string, string>; body: string } {
  const split = stdout.indexOf('\r\n\r\n');
  const head = split >= 0 ? stdout.slice(0, split) : stdout;
  const [statusLine, ...headerLines] = head.split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1] ?? Number.NaN);
  const headers = new Map(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status, headers, body: split >= 0 ? stdout.slice(split + 4) : '' };
}

/** Runs `script` and its `curl -i` output: the command's answer as parsed by parseCurlInclude. */
export async function curl(script: string, env: Record<string, string>, home: string) {
  return parseCurlInclude((await bash(script, env, home)).stdout);
}

/** The CLI as `npm ci` bundles it (the root `prepare` script), for the recipes' `npx latchkey`. */
export function ensureCliBuilt(): void {
  const bundle = join(repositoryRoot, 'packages/cli/dist/latchkey.cjs');
  if (existsSync(bundle)) return;
  withBuildLock('latchkey-cli-build.lock', () => {
    if (existsSync(bundle)) return;
    const build = spawnSync(process.execPath, ['packages/cli/scripts/build.mjs'], { cwd: repositoryRoot, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('bundling the CLI (packages/cli/scripts/build.mjs) failed');
  });
}

/**
 * The plain-HTTP recipe's first block: its CLI commands make the service account `my-api` and
 * print its `introspect` token, as an administrator whose token (holding admin:write) is
 * `adminSecret`, against Latchkey on `latchkeyPort`. The two variables the block exports.
 */
export async function mintReadmeServiceToken(latchkeyPort: number, adminSecret: string, home: string): Promise<{ url: string; serviceToken: string }> {
  const [makeServiceToken] = blocksOf('Plain HTTP (introspection)', ['sh', 'sh']);
  const made = await bash(
    // The harness reads back the two variables the block sets, on file descriptor 3.
    `${replacePort(makeServiceToken!.code, 'localhost:8080', `127.0.0.1:${latchkeyPort}`)}\nprintf '%s\\n%s' "$LATCHKEY_URL" "$SERVICE_TOKEN" >&3`,
    { LATCHKEY_TOKEN: adminSecret },
    home,
  );
  expect(made.code, made.stderr).toBe(0);
  const [url, serviceToken] = made.fd3.split('\n');
  return { url: url!, serviceToken: serviceToken! };
}

export interface BackgroundService {
  /** http://127.0.0.1:<port> */
  base: string;
  /** Everything it printed so far. */
  output(): string;
  stop(): void;
}

/**
 * Runs a README line that starts a service in the background (`… &`) with bash in `cwd`;
 * `wait` keeps bash as its parent, and the whole process group goes at `stop()`. Resolves once
 * `base + path` answers at all.
 */
async function startBackgrounded(
  what: string,
  script: string,
  options: { cwd: string; env: Record<string, string>; base: string; path: string },
): Promise<BackgroundService> {
  const child: ChildProcess = killOnExit(
    spawn('bash', ['-c', `${script}\nwait`], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const service: BackgroundService = {
    base: options.base,
    output: () => output,
    stop() {
      if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    },
  };
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${output}`);
    try {
      const response = await fetch(`${options.base}${options.path}`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return service;
    } catch {
      if (attempt > 300) {
        service.stop();
        throw new Error(`${what} did not answer on ${options.base}: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Starts the README's demo service (the section's `node -e … &` block) on `port`. */
export function startReadmeService(port: number): Promise<BackgroundService> {
  const [block] = blocksOf(SECTION, ['sh']);
  const script = replacePort(block!.code, '.listen(9000,', `.listen(${port},`);
  return startBackgrounded("the README's service", script, { cwd: repositoryRoot, env: {}, base: `http://127.0.0.1:${port}`, path: '/' });
}

/**
 * The Node recipe (`### Node (@latchkey/verify)`): its js block is
 * packages/verify/examples/fastify-service.mjs (packages/verify/test/examples.test.ts checks it
 * word for word), started by the first line of its shell block in that directory with
 * `SERVICE_TOKEN` (`@latchkey/verify` must be built). With the block's two curl commands, ports
 * replaced: the first without a token, the second with `$MY_TOKEN`.
 */
export async function startReadmeNodeService(
  latchkeyPort: number,
  serviceToken: string,
  port: number,
): Promise<BackgroundService & { anonymous: string; withToken: string }> {
  const [, run] = blocksOf('Node (@latchkey/verify)', ['js', 'sh']);
  const withPorts = replacePort(
    replacePort(replacePort(run!.code, 'localhost:8080', `127.0.0.1:${latchkeyPort}`), 'PORT=3000', `PORT=${port}`),
    'localhost:3000',
    `127.0.0.1:${port}`,
    2,
  );
  const [start, anonymous, withToken] = commandLines(withPorts);
  expect(start).toMatch(/ node fastify-service\.mjs &$/);
  expect(withToken).toContain('$MY_TOKEN');
  const service = await startBackgrounded("the README's Node service", start!, {
    cwd: join(repositoryRoot, 'packages/verify/examples'),
    env: { SERVICE_TOKEN: serviceToken },
    base: `http://127.0.0.1:${port}`,
    path: '/whoami',
  });
  return { ...service, anonymous: anonymous!, withToken: withToken! };
}
