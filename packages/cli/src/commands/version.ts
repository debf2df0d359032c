/** `latchkey version`: answered from the entry bundle alone, like `--help`. */
import { defineCommand } from 'citty';
import { writeJson } from '../output.js';
import { VERSION } from '../version.js';
import { ioOf } from './load-actions.js';
import { outputArg } from './common-args.js';

export default defineCommand({
  meta: { description: 'print the version', examples: ['latchkey version --output json'] },
  args: { output: outputArg },
  run: (context) => {
    const { stdout } = ioOf(context);
    if (context.args.output === 'json') return writeJson(stdout, { version: VERSION, node: process.versions.node });
    stdout.write(`latchkey ${VERSION} (node ${process.versions.node})\n`);
  },
});
