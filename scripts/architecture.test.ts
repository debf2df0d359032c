/**
 * The architecture's boundaries (.dependency-cruiser.cjs; docs/architecture.md) hold for the
 * whole repository — and each rule is first shown to catch the import it forbids, on a small
 * fixture tree laid out like the real one.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as {
  forbidden: NonNullable<ICruiseOptions['ruleSet']>['forbidden'];
  options: ICruiseOptions;
};

async function violationsIn(directory: string, paths: string[], tsConfig?: string): Promise<IViolation[]> {
  const previous = process.cwd();
  // dependency-cruiser matches rule paths against paths relative to the working directory.
  process.chdir(directory);
  try {
    const result = await cruise(
      paths,
      {
        ...config.options,
        tsConfig: tsConfig ? { fileName: tsConfig } : undefined,
        ruleSet: { forbidden: config.forbidden },
        validate: true,
      },
      undefined,
      tsConfig ? { tsConfig: extractTSConfig(tsConfig) } : undefined,
    );
    if (typeof result.output === 'string') throw new Error(result.output);
    return result.output.summary.violations;
  } finally {
    process.chdir(previous);
  }
}

describe('architecture boundaries', () => {
  const fixture = mkdtempSync(join(tmpdir(), 'latchkey-architecture-'));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  function write(path: string, text: string): void {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  }

  /** A module package the fixture can import, so rules about npm packages have something to resolve. */
  function fakePackage(name: string): void {
    write(`node_modules/${name}/package.json`, JSON.stringify({ name, version: '1.0.0', main: 'index.js' }));
    write(`node_modules/${name}/index.js`, 'module.exports = {};\n');
  }

  it('each rule catches the import it forbids', async () => {
    fakePackage('kysely');
    fakePackage('fastify');
    const server = 'packages/server/src';
    write(`${server}/widgets/widget-store.ts`, 'export interface WidgetStore { count(): Promise<number> }\n');
    write(`${server}/widgets/kysely-widget-store.ts`, "import 'kysely';\nexport const createKyselyWidgetStore = () => ({});\n");
    // Each of these files breaks exactly one rule.
    write(`${server}/widgets/widget-service.ts`, "import 'kysely';\nimport 'fastify';\nimport './kysely-widget-store.js';\n");
    write(`${server}/widgets/widget-routes.ts`, "import './widget-store.js';\n");
    write(`${server}/database/database.ts`, "import '../widgets/widget-store.js';\n");
    write(`${server}/kernel/ids.ts`, "import '../database/database.js';\n");
    write(`${server}/services.ts`, "import './widgets/kysely-widget-store.js';\n");
    write(`${server}/cycle-a.ts`, "import './cycle-b.js';\n");
    write(`${server}/cycle-b.ts`, "import './cycle-a.js';\n");
    write(`${server}/uses-test.ts`, "import '../test/support.js';\n");
    write('packages/server/test/support.ts', 'export {};\n');
    write('packages/cli/src/main.ts', "import '../../server/src/services.js';\n");
    write('packages/contract/src/index.ts', "import '../../web/src/app.js';\n");
    write('packages/web/src/app.ts', 'export {};\n');

    const violations = await violationsIn(fixture, ['packages']);
    const seen = violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`).sort();
    expect(seen).toEqual(
      [
        `contract-is-a-leaf: packages/contract/src/index.ts → packages/web/src/app.ts`,
        `database-knows-no-capability: ${server}/database/database.ts → ${server}/widgets/widget-store.ts`,
        `faces-talk-http-only: packages/cli/src/main.ts → ${server}/services.ts`,
        `fastify-only-in-routes: ${server}/widgets/widget-service.ts → node_modules/fastify/index.js`,
        `no-circular: ${server}/cycle-a.ts → ${server}/cycle-b.ts`,
        `no-test-code-in-production: ${server}/uses-test.ts → packages/server/test/support.ts`,
        `routes-call-services: ${server}/widgets/widget-routes.ts → ${server}/widgets/widget-store.ts`,
        `kernel-is-a-leaf: ${server}/kernel/ids.ts → ${server}/database/database.ts`,
        `sql-only-in-stores: ${server}/widgets/widget-service.ts → node_modules/kysely/index.js`,
        `stores-assembled-only-in-the-composition-root: ${server}/widgets/widget-service.ts → ${server}/widgets/kysely-widget-store.ts`,
      ].sort(),
    );
  }, 60_000);

  it('the repository keeps every boundary', async () => {
    const violations = await violationsIn(root, ['packages/contract/src', 'packages/server/src', 'packages/cli/src', 'packages/web/src'], 'tsconfig.test.json');
    expect(violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`)).toEqual([]);
  }, 120_000);
});
