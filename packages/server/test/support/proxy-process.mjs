/**
 * Debian's nginx and Caddy as throw-away processes on loopback, for the tests that run the
 * shipped proxy configurations (test/scale/*) and for `npm run bench` (P10). Plain JavaScript,
 * like server-process.mjs, so the benchmark needs no TypeScript loader.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { killOnExit } from './server-process.mjs';

/** The binary on PATH, else the first existing candidate; undefined when not installed. */
export function findBinary(name, candidates = []) {
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  return onPath || candidates.find((path) => existsSync(path));
}

export const findNginx = () => findBinary('nginx', ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']);
export const findCaddy = () => findBinary('caddy', ['/usr/bin/caddy', '/usr/local/bin/caddy']);

/**
 * `text` with each pattern replaced. Each must match exactly once in `text`, so an edit to a
 * shipped file cannot make a test quietly run something else. `label` names the text in errors.
 */
export function substituted(label, text, replacements) {
  let result = text;
  for (const [pattern, replacement] of replacements) {
    const count = text.match(new RegExp(pattern.source, 'gm'))?.length ?? 0;
    if (count !== 1) throw new Error(`${label}: expected one line matching ${pattern}, found ${count}`);
    result = result.replace(pattern, replacement);
  }
  return result;
}

/** The same, reading `file` first. */
export function substitutedFile(file, replacements) {
  return substituted(file, readFileSync(file, 'utf8'), replacements);
}

/**
 * deploy/nginx/forward-auth.conf's text (or the README's copy of it, `label` naming which) with
 * only its three addresses (nginx 8000, Latchkey 127.0.0.1:8080, the service 127.0.0.1:9000)
 * replaced by loopback ports: { listen, latchkey, service }.
 */
export function forwardAuthNginxSite(label, text, ports) {
  return substituted(label, text, [
    [/^(\s*)listen 8000;$/m, `$1listen 127.0.0.1:${ports.listen};`],
    [/^(\s*)server 127\.0\.0\.1:8080;$/m, `$1server 127.0.0.1:${ports.latchkey};`],
    [/^(\s*)server 127\.0\.0\.1:9000;$/m, `$1server 127.0.0.1:${ports.service};`],
  ]);
}

/** deploy/caddy/Caddyfile (or the README's copy) with only its site address (8001) and upstreams replaced. */
export function forwardAuthCaddySite(label, text, ports) {
  return substituted(label, text, [
    [/^http:\/\/:8001 \{$/m, `http://127.0.0.1:${ports.listen} {`],
    [/^(\t+)forward_auth @namespaced 127\.0\.0\.1:8080 \{$/m, `$1forward_auth @namespaced 127.0.0.1:${ports.latchkey} {`],
    [/^(\t+)forward_auth @other 127\.0\.0\.1:8080 \{$/m, `$1forward_auth @other 127.0.0.1:${ports.latchkey} {`],
    [/^(\t+)reverse_proxy 127\.0\.0\.1:9000$/m, `$1reverse_proxy 127.0.0.1:${ports.service}`],
  ]);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Keeps the child's output, and resolves once `base + readyPath` answers with a status `ready`
 * accepts (by default any answer at all).
 */
async function running(name, child, base, { readyPath = '/', ready = () => true, timeoutMs = 30_000 } = {}) {
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM'); // nginx: fast shutdown, the master stops its workers too
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(`${base}${readyPath}`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (ready(response.status)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not answer on ${base}${readyPath}:\n${output}`);
    }
    await sleep(100);
  }
  return { name, base, pid: child.pid, stop, output: () => output };
}

/**
 * nginx with `site` (server and upstream blocks, as a conf.d file) inside what Debian's
 * /etc/nginx/nginx.conf puts around conf.d/*.conf, every path in `home`. `port` is where the
 * site listens (for readiness). `httpDirectives` go into the http block (e.g. an access log).
 */
export function startNginx({ binary, home, site, port, httpDirectives = 'access_log off;', workers = 1, workerConnections = 256, readyPath, ready }) {
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'site.conf'), site);
  for (const temp of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(home, temp), { recursive: true });
  writeFileSync(
    join(home, 'nginx.conf'),
    `worker_processes ${workers};
events { worker_connections ${workerConnections}; }
http {
    client_body_temp_path ${home}/client_body;
    proxy_temp_path ${home}/proxy;
    fastcgi_temp_path ${home}/fastcgi;
    uwsgi_temp_path ${home}/uwsgi;
    scgi_temp_path ${home}/scgi;
    ${httpDirectives}
    include ${home}/site.conf;
}
`,
  );
  // Worker processes drop root to `nobody`; let them into the directory (and the throw-away
  // directory it is in: mkdtemp makes it 0700).
  chmodSync(dirname(home), 0o755);
  chmodSync(home, 0o755);
  const child = killOnExit(
    spawn(binary, ['-e', 'stderr', '-p', `${home}/`, '-c', join(home, 'nginx.conf'), '-g', `daemon off; pid ${home}/nginx.pid; error_log stderr;`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    // SIGTERM, not SIGKILL, from the exit hook: the master then stops its workers too.
    'SIGTERM',
  );
  return running('nginx', child, `http://127.0.0.1:${port}`, { readyPath, ready });
}

/** Caddy running the Caddyfile `site` under a global `{ admin off }` block, nothing kept outside `home`. */
export function startCaddy({ binary, home, site, port, readyPath, ready }) {
  mkdirSync(home, { recursive: true });
  // No admin endpoint (it would take :2019).
  const config = join(home, 'Caddyfile');
  writeFileSync(config, `{\n\tadmin off\n}\n\n${site}`);
  const child = killOnExit(
    spawn(binary, ['run', '--config', config, '--adapter', 'caddyfile'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home },
    }),
    'SIGTERM',
  );
  return running('caddy', child, `http://127.0.0.1:${port}`, { readyPath, ready });
}
