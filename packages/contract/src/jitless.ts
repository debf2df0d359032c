/**
 * Imported for its effect, before anything else, by code that runs under a strict CSP (the
 * console: `require-trusted-types-for 'script'`, no 'unsafe-eval'). Zod 4 compiles a fast object
 * parser with `new Function` and probes for it while building each object schema; the probe
 * fails quietly but the browser still reports a Trusted Types violation on every page. With
 * `jitless` set before the first schema is built, zod neither probes nor compiles. The server and
 * the CLI do not import this: they keep the compiled parser.
 */
import { z } from 'zod';

z.config({ jitless: true });
