/**
 * The architecture's boundaries, checked by dependency-cruiser in `npm test`
 * (scripts/architecture.test.ts); docs/architecture.md explains them.
 *
 * In packages/server/src, a file's name says what it may touch:
 *   kysely-*.ts and database/   SQL (Kysely and the drivers)
 *   *-routes.ts, http/, app.ts  Fastify
 *   everything else             rules and models: neither
 * services.ts and main.ts (the composition root) are the only modules that put a capability's
 * Kysely store together with its service.
 */
const SERVER = '^packages/server/src/';
const TESTS = '\\.test\\.tsx?$|\\.contract\\.ts$';
const SQL_PACKAGES = '^node_modules/(kysely|pg|better-sqlite3)/';
const FASTIFY_PACKAGES = '^node_modules/(fastify|@fastify/[^/]+|fastify-type-provider-zod)/';
const COMPOSITION_ROOT = `${SERVER}(main|services)\\.ts$`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one; break it with an interface in the lower one.',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true },
    },
    {
      name: 'sql-only-in-stores',
      severity: 'error',
      comment: 'Only kysely-*.ts files and src/database/ talk SQL; rules and routes go through a store interface.',
      from: { path: SERVER, pathNot: [`${SERVER}database/`, '/kysely-[^/]+\\.ts$', TESTS] },
      to: { path: SQL_PACKAGES },
    },
    {
      name: 'fastify-only-in-routes',
      severity: 'error',
      comment: 'Only *-routes.ts, src/http/ and app.ts know Fastify; services take plain arguments.',
      from: { path: SERVER, pathNot: [`${SERVER}http/`, `${SERVER}app\\.ts$`, '-routes\\.ts$', TESTS] },
      to: { path: FASTIFY_PACKAGES },
    },
    {
      name: 'routes-call-services',
      severity: 'error',
      comment: 'A route calls a service, never a store or the database.',
      from: { path: '-routes\\.ts$' },
      to: { path: ['/kysely-[^/]+\\.ts$', '-store\\.ts$', `${SERVER}database/`] },
    },
    {
      name: 'stores-assembled-only-in-the-composition-root',
      severity: 'error',
      comment: 'Services depend on store interfaces; only services.ts and main.ts pick the Kysely implementations.',
      from: { path: SERVER, pathNot: [COMPOSITION_ROOT, '/kysely-[^/]+\\.ts$', `${SERVER}database/`, TESTS] },
      to: { path: '/kysely-[^/]+\\.ts$' },
    },
    {
      name: 'database-knows-no-capability',
      severity: 'error',
      comment: 'src/database/ serves every capability, so it may use only itself and src/kernel/.',
      from: { path: `${SERVER}database/`, pathNot: TESTS },
      to: { path: SERVER, pathNot: [`${SERVER}(database|kernel)/`] },
    },
    {
      name: 'kernel-is-a-leaf',
      severity: 'error',
      comment: 'src/kernel/ holds the primitives everything uses; it uses nothing of the server.',
      from: { path: `${SERVER}kernel/`, pathNot: TESTS },
      to: { path: SERVER, pathNot: `${SERVER}kernel/` },
    },
    {
      name: 'faces-talk-http-only',
      severity: 'error',
      comment: 'The console and the CLI reach the server over HTTP; what they share with it is in contract.',
      from: { path: '^packages/(web|cli|verify)/src/' },
      to: { path: '^packages/(server|web|cli|verify)/', pathNot: '^packages/$1/' },
    },
    {
      name: 'contract-is-a-leaf',
      severity: 'error',
      comment: 'contract is what crosses the wire; it depends on no face.',
      from: { path: '^packages/contract/src/' },
      to: { path: '^packages/(server|web|cli|verify)/' },
    },
    {
      name: 'no-test-code-in-production',
      severity: 'error',
      comment: 'Production modules never import tests or test support.',
      from: { path: '^packages/[^/]+/src/', pathNot: TESTS },
      to: { path: [TESTS, '^packages/[^/]+/test/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules/\\.cache)/' },
    // Type-only imports are dependencies too: a service typing a Kysely row still knows SQL.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'types', 'default'] },
  },
};
