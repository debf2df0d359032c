/**
 * Test-only entry for docs/security.md, item 60: the built `latchkey-server` run with umask 000,
 * so every file mode the test sees is one the server set itself, not one the umask narrowed.
 */
process.umask(0);
await import(new URL('../../dist/main.js', import.meta.url).href);
