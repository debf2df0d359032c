import type { CliIo } from '../io.js';
import { writeJson, type OutputFormat } from '../output.js';
import { VERSION } from '../version.js';

export function printVersion(io: CliIo, options: { output?: OutputFormat }): void {
  if (options.output === 'json') return writeJson(io.stdout, { version: VERSION, node: process.versions.node });
  io.stdout.write(`latchkey ${VERSION} (node ${process.versions.node})\n`);
}
