/** Runs `wrk` (Debian package) against one URL with bench/lua/load.lua and parses its summary. */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../lua/load.lua', import.meta.url));

export function checkWrk() {
  const probe = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error(
      'wrk is not installed. The benchmark drives the server with wrk (docs/performance.md, ' +
        '"Method": autocannon would squeeze every ratio toward 1). Install it with:  apt-get install -y wrk',
    );
  }
  return (probe.stdout + probe.stderr).split('\n')[0].trim();
}

/**
 * @param {object} options
 * @param {string} options.url        full URL (loopback only)
 * @param {string[]} [options.tokens] credentials to rotate over (passed via the environment)
 * @param {number} options.seconds
 * @param {number} [options.connections=50]
 * @param {number} [options.threads=1]
 * @param {number} [options.delayMs=0]
 */
export function runWrk({ url, tokens = [], seconds, connections = 50, threads = 1, delayMs = 0 }) {
  const { hostname, pathname, search } = new URL(url);
  if (hostname !== '127.0.0.1' && hostname !== 'localhost') throw new Error('wrk runs on loopback only');
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    url,
  ];
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LK_BENCH_PATH: pathname + search,
    LK_BENCH_DELAY_MS: String(delayMs),
    LK_BENCH_TOKENS: tokens.join('\n'),
  };
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((text) => text.startsWith('WRK_JSON '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited with ${code}: ${stderr.trim() || stdout.trim()}`));
        return;
      }
      const raw = JSON.parse(line.slice('WRK_JSON '.length));
      const durationS = raw.duration_us / 1e6;
      resolve({
        requests: raw.requests,
        durationS,
        reqPerSec: raw.requests / durationS,
        non2xx: raw.errors.status,
        socketErrors: raw.errors.connect + raw.errors.read + raw.errors.write + raw.errors.timeout,
        latencyUs: raw.latency_us,
      });
    });
  });
}
