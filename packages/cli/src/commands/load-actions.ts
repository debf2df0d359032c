/**
 * The commands' logic, behind one lazy import: the build puts src/actions (with zod and the
 * contract schemas) in a file of its own, loaded only when a command that talks to a server or
 * the config runs, so `--help`, `version` and `completion` start without it (docs/performance.md, P6).
 */
import type { CliIo } from '../io.js';

export const loadActions = () => import('../actions/index.js');

/** citty hands a command the `data` given to `runCommand`: main.ts gives the injected I/O. */
export const ioOf = (context: { data?: unknown }): CliIo => context.data as CliIo;
