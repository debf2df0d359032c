/** Types for proxy-process.mjs (plain JavaScript so that `npm run bench` needs no TypeScript loader). */

export function findBinary(name: string, candidates?: string[]): string | undefined;
export function findNginx(): string | undefined;
export function findCaddy(): string | undefined;
export function substituted(label: string, text: string, replacements: Array<[RegExp, string]>): string;
export function substitutedFile(file: string, replacements: Array<[RegExp, string]>): string;

/** Where the proxy in front of a service listens, and where Latchkey and the service answer. */
export interface ForwardAuthPorts {
  listen: number;
  latchkey: number;
  service: number;
}
export function forwardAuthNginxSite(label: string, text: string, ports: ForwardAuthPorts): string;
export function forwardAuthCaddySite(label: string, text: string, ports: ForwardAuthPorts): string;

export interface RunningProxy {
  name: string;
  /** http://127.0.0.1:<port> */
  base: string;
  pid: number;
  stop(): Promise<void>;
  /** Everything the process printed so far. */
  output(): string;
}

interface ProxyOptions {
  binary: string;
  /** A directory of its own inside a throw-away directory. */
  home: string;
  /** The site configuration (nginx: server and upstream blocks; Caddy: a Caddyfile site block). */
  site: string;
  /** The port the site listens on, for readiness. */
  port: number;
  /** Readiness: this path answers (default `/`) … */
  readyPath?: string;
  /** … with a status this accepts (default: any answer). */
  ready?: (status: number) => boolean;
}

export function startNginx(
  options: ProxyOptions & { httpDirectives?: string; workers?: number; workerConnections?: number },
): Promise<RunningProxy>;
export function startCaddy(options: ProxyOptions): Promise<RunningProxy>;
