import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, ERROR_CODES, PROBLEM_TYPE_BASE } from './errors.js';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** The codes docs/errors.md documents: every `## \`CODE\`` heading. */
const documentedCodes = [...docs.matchAll(/^## `([A-Z_]+)`/gm)].map((match) => match[1]);
const anchors = new Set([...docs.matchAll(/<a id="([a-z-]+)"><\/a>/g)].map((match) => match[1]));

describe('error codes and docs/errors.md', () => {
  it('documents every code, and no code that no longer exists', () => {
    expect([...documentedCodes].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('gives each problem type an anchor, so /docs/errors/<slug> lands on it', () => {
    for (const code of ERROR_CODES) {
      const { type } = ERRORS[code];
      const slug = type === 'about:blank' ? code.toLowerCase().replace(/_/g, '-') : type.slice(PROBLEM_TYPE_BASE.length + 1);
      expect(anchors.has(slug), `${code} → #${slug}`).toBe(true);
    }
  });

  it('states each code with its status', () => {
    for (const code of ERROR_CODES) {
      expect(docs).toMatch(new RegExp(`^## \`${code}\` — ${ERRORS[code].status}\\b`, 'm'));
    }
  });

  it('uses the problem-type base for every type but R-NOAUTH', () => {
    for (const code of ERROR_CODES) {
      const { type } = ERRORS[code];
      if (code === 'UNAUTHENTICATED') expect(type).toBe('about:blank');
      else expect(type.startsWith(`${PROBLEM_TYPE_BASE}/`)).toBe(true);
    }
  });
});
