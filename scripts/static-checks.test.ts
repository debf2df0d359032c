/**
 * Lint-style rules that read the repository's sources with the TypeScript parser (no new
 * dependency), for two items of docs/security.md:
 *
 *   31  no `===`, `==`, `!==`, `!=` or `.equals(` on values that are secrets or digests
 *       (named so: digest, secret, csrf, verifier, challenge, hash, fingerprint); such values
 *       are compared with `crypto.timingSafeEqual` on equal-length buffers. Looking a digest up
 *       in an index is not a comparison in JavaScript and is fine.
 *   41  no string-built SQL: no template literal with `${…}` (and no `'…' + x`) passed to
 *       query / prepare / exec / raw / pragma / unsafe. Kysely's `sql` tag binds its values
 *       and is not affected.
 *
 * Each rule first proves on a fixture that it catches what it is meant to catch.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', '.git', 'test-results', 'coverage', 'results']);
const SOURCE_FILE = /\.(ts|tsx|mts|mjs|js|cjs)$/;

function sourceFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRECTORIES.has(entry.name)) files.push(...sourceFiles(join(directory, entry.name)));
    } else if (SOURCE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      files.push(join(directory, entry.name));
    }
  }
  return files;
}

function parse(fileName: string, text: string): ts.SourceFile {
  const kind = fileName.endsWith('.tsx') ? ts.ScriptKind.TSX : fileName.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  return ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
}

interface Finding {
  file: string;
  line: number;
  text: string;
}

function finding(source: ts.SourceFile, node: ts.Node): Finding {
  const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
  return { file: relative(root, source.fileName), line: line + 1, text: node.getText(source).replace(/\s+/g, ' ').slice(0, 160) };
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

// --- Item 31 ----------------------------------------------------------------------------------

/** How the code names secrets and digests. */
const SECRET_NAME = /digest|secret|csrf|verifier|challenge|hash|fingerprint/i;
const EQUALITY = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

/** Comparing with a literal, a type or a length says nothing about a secret's content. */
function isHarmlessOperand(node: ts.Expression): boolean {
  const expression = ts.isParenthesizedExpression(node) ? node.expression : node;
  if (
    ts.isLiteralExpression(expression) ||
    ts.isNoSubstitutionTemplateLiteral(expression) ||
    ts.isTypeOfExpression(expression) ||
    ts.isPrefixUnaryExpression(expression)
  ) {
    return true;
  }
  if ([ts.SyntaxKind.NullKeyword, ts.SyntaxKind.TrueKeyword, ts.SyntaxKind.FalseKeyword].includes(expression.kind)) return true;
  if (ts.isIdentifier(expression) && expression.text === 'undefined') return true;
  return ts.isPropertyAccessExpression(expression) && ['length', 'size', 'byteLength'].includes(expression.name.text);
}

/** Identifiers (and property names) in an operand: `flow.browserDigest` → flow, browserDigest. */
function namesIn(node: ts.Node): string[] {
  const names: string[] = [];
  walk(node, (child) => {
    if (ts.isIdentifier(child) || ts.isPrivateIdentifier(child)) names.push(child.text);
  });
  return names;
}

const namesASecret = (node: ts.Node) => namesIn(node).some((name) => SECRET_NAME.test(name));

function nonConstantTimeComparisons(source: ts.SourceFile): Finding[] {
  const findings: Finding[] = [];
  walk(source, (node) => {
    if (ts.isBinaryExpression(node) && EQUALITY.has(node.operatorToken.kind)) {
      if (isHarmlessOperand(node.left) || isHarmlessOperand(node.right)) return;
      if (namesASecret(node.left) || namesASecret(node.right)) findings.push(finding(source, node));
    }
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'equals' &&
      (namesASecret(node.expression.expression) || node.arguments.some(namesASecret))
    ) {
      findings.push(finding(source, node));
    }
  });
  return findings;
}

// --- Item 41 ----------------------------------------------------------------------------------

const SQL_RUNNERS = new Set(['query', 'prepare', 'exec', 'raw', 'pragma', 'unsafe']);

/** A module constant (SCREAMING_CASE, or a member or call of one) is fixed at build time. */
function isModuleConstant(node: ts.Expression): boolean {
  const names = namesIn(node);
  const head = names[0];
  return head !== undefined && /^[A-Z][A-Z0-9_]*$/.test(head);
}

function stringBuilt(argument: ts.Expression): ts.Expression[] | undefined {
  if (ts.isTemplateExpression(argument)) return argument.templateSpans.map((span) => span.expression);
  if (ts.isBinaryExpression(argument) && argument.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const parts: ts.Expression[] = [];
    const collect = (node: ts.Expression) => {
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
        collect(node.left);
        collect(node.right);
      } else parts.push(node);
    };
    collect(argument);
    if (!parts.some((part) => ts.isStringLiteralLike(part) || ts.isTemplateExpression(part))) return undefined;
    return parts.filter((part) => !ts.isStringLiteralLike(part));
  }
  return undefined;
}

function stringBuiltSql(source: ts.SourceFile): Finding[] {
  const findings: Finding[] = [];
  walk(source, (node) => {
    if (!ts.isCallExpression(node) || node.arguments.length === 0) return;
    const callee = node.expression;
    const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : undefined;
    if (!name || !SQL_RUNNERS.has(name)) return;
    const interpolated = stringBuilt(node.arguments[0]!);
    if (interpolated && !interpolated.every(isModuleConstant)) findings.push(finding(source, node));
  });
  return findings;
}

/**
 * DDL on throw-away databases in tests and benchmarks: identifiers and trigger bodies cannot be
 * bound parameters, and every value here is generated by the harness itself (random hex names,
 * generated ids). Nothing under a package's src/ may be listed.
 */
const SQL_EXEMPTIONS: Array<{ file: string; contains: string; why: string }> = [
  { file: 'packages/server/test/support/databases.ts', contains: 'create database ${name}', why: 'random hex database name' },
  { file: 'packages/server/test/support/databases.ts', contains: 'drop database if exists ${name}', why: 'random hex database name' },
  { file: 'bench/run.mjs', contains: 'create database ${name}', why: 'pid/time-derived database name' },
  { file: 'bench/run.mjs', contains: 'drop database if exists ${name}', why: 'pid/time-derived database name' },
  { file: 'bench/run.mjs', contains: "new.id = '${p9Token.id}'", why: 'trigger body on a generated token id' },
  { file: 'bench/profile.mjs', contains: 'create database ${name}', why: 'pid/time-derived database name' },
  { file: 'bench/profile.mjs', contains: 'drop database if exists ${name}', why: 'pid/time-derived database name' },
  { file: 'bench/p5-postgres-plan.mjs', contains: 'create database ${name}', why: 'pid-derived database name' },
  { file: 'bench/p5-postgres-plan.mjs', contains: 'drop database if exists ${name}', why: 'pid-derived database name' },
  { file: 'bench/p5-postgres-plan.mjs', contains: 'explain (analyze, buffers, format json) ${sql}', why: "EXPLAIN of the server's own compiled lookup statement" },
];

function scanRepository(rule: (source: ts.SourceFile) => Finding[], directories: string[]): { files: number; findings: Finding[] } {
  const files = directories.flatMap((directory) => sourceFiles(join(root, directory)));
  return { files: files.length, findings: files.flatMap((file) => rule(parse(file, readFileSync(file, 'utf8')))) };
}

function packageDirectories(kind: 'src' | 'test'): string[] {
  return readdirSync(join(root, 'packages'))
    .map((name) => `packages/${name}/${kind}`)
    .filter((directory) => {
      try {
        return readdirSync(join(root, directory)).length > 0;
      } catch {
        return false;
      }
    });
}

// docs/security.md, item 31
describe('secrets and digests are compared in constant time', () => {
  it('the rule catches === / !== / .equals( on secret-named values and ignores lengths, literals and lookups', () => {
    const fixture = parse(
      'fixture.ts',
      `
      if (challenge !== grant.codeChallenge) throw x;
      if (sha256(browserSecret).equals(flow.browserDigest)) ok();
      const same = presentedCsrf == session.csrfToken;
      if (a.digest != b) no();
      if (secret.length !== TOKEN_SECRET_BYTES) throw x;
      if (url.hash === '') ok();
      if (typeof secret === 'string') ok();
      if (digest === undefined || csrfToken === null) ok();
      const found = await store.findTokenForAuth(hashToken(presented));
      if (a.length === b.length && timingSafeEqual(a, b)) ok();
      if (token.name === other.name) ok();
      `,
    );
    expect(nonConstantTimeComparisons(fixture).map((f) => f.line)).toEqual([2, 3, 4, 5]);
  });

  it('packages/server/src, packages/contract/src and packages/cli/src have no such comparison', () => {
    const { files, findings } = scanRepository(nonConstantTimeComparisons, [
      'packages/server/src',
      'packages/contract/src',
      'packages/cli/src',
    ]);
    expect(files).toBeGreaterThan(50);
    // Unit tests beside the code may check a digest with .equals: they hold no one's secret.
    expect(findings.filter((f) => !/\.test\.tsx?$/.test(f.file))).toEqual([]);
  });
});

// docs/security.md, item 41
describe('no string-built SQL', () => {
  it('the rule catches template literals with ${…} and concatenation passed to query/prepare/exec/raw/pragma', () => {
    const fixture = parse(
      'fixture.ts',
      [
        'await pool.query(`select * from tokens where name = ${name}`);',
        "db.prepare('select * from tokens where id = ' + id);",
        'await sql.raw(`drop table ${table}`).execute(db);',
        'database.exec(`delete from t where x = ${input.x}`);',
        "client.query('select 1 where a = $1', [name]);",
        'await sql`select * from tokens where name = ${name}`.execute(db);',
        'database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);',
        'await sql.raw(`truncate ${TABLES.join(", ")}`).execute(db);',
        'db.prepare(`select 1`);',
      ].join('\n'),
    );
    expect(stringBuiltSql(fixture).map((f) => f.line)).toEqual([1, 2, 3, 4]);
  });

  it('the repository (package sources and tests, bench, scripts) builds no SQL from strings', () => {
    const directories = [...packageDirectories('src'), ...packageDirectories('test'), 'bench', 'scripts'];
    const { files, findings } = scanRepository(stringBuiltSql, directories);
    expect(files).toBeGreaterThan(100);
    for (const exemption of SQL_EXEMPTIONS) expect(exemption.file).not.toMatch(/^packages\/[^/]+\/src\//);
    const unexplained = findings.filter(
      (f) =>
        !SQL_EXEMPTIONS.some((exemption) => exemption.file === f.file && f.text.includes(exemption.contains)) &&
        // SQLite cannot bind a PRAGMA's value; tests set deliberately weak ones. Never in src/.
        !(/\/test\//.test(f.file) && /^[\w.]*pragma\(/.test(f.text)),
    );
    expect(unexplained).toEqual([]);
    // Every exemption still matches something; a stale one would hide a new finding on that line.
    for (const exemption of SQL_EXEMPTIONS) {
      expect(findings.some((f) => f.file === exemption.file && f.text.includes(exemption.contains)), exemption.contains).toBe(true);
    }
  });
});
