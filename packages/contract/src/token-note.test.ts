import { describe, expect, it } from 'vitest';
import { TOKEN_NOTE_MAX_LENGTH, createTokenRequestSchema, createTokenRequestSchemaFor } from './schemas.js';

/** The issues of a create-token body with this note, as pointer → message. */
function noteIssues(note: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const result = createTokenRequestSchema.safeParse({ name: 'ci', note });
  return result.success ? [] : result.error.issues.map(({ path, message }) => ({ path, message }));
}

describe('the create-token note', () => {
  it('is optional: a body without one parses, with no note', () => {
    const parsed = createTokenRequestSchema.parse({ name: 'ci' });
    expect(parsed.note).toBeUndefined();
  });

  it('takes up to 200 characters (counted as characters, not UTF-16 units)', () => {
    expect(TOKEN_NOTE_MAX_LENGTH).toBe(200);
    expect(createTokenRequestSchema.parse({ name: 'ci', note: 'n'.repeat(200) }).note).toBe('n'.repeat(200));
    expect(createTokenRequestSchema.parse({ name: 'ci', note: '🔑'.repeat(200) }).note).toBe('🔑'.repeat(200));
  });

  it('refuses 201 characters with an error at note', () => {
    expect(noteIssues('n'.repeat(201))).toEqual([{ path: ['note'], message: 'must be at most 200 characters' }]);
  });

  it('is trimmed, and counted after trimming', () => {
    expect(createTokenRequestSchema.parse({ name: 'ci', note: '  GitHub Actions  ' }).note).toBe('GitHub Actions');
    expect(createTokenRequestSchema.parse({ name: 'ci', note: ` ${'n'.repeat(200)} ` }).note).toBe('n'.repeat(200));
  });

  it('is null when empty after trimming', () => {
    expect(createTokenRequestSchema.parse({ name: 'ci', note: '' }).note).toBeNull();
    expect(createTokenRequestSchema.parse({ name: 'ci', note: '    ' }).note).toBeNull();
  });

  it('refuses control, formatting and bidirectional characters as names do', () => {
    for (const note of ['ci\u001b[2J', 'line\nbreak', 'a\u202eb', 'zero\u200bwidth', 'sep\u2028arator']) {
      expect(noteIssues(note), JSON.stringify(note)).toEqual([
        { path: ['note'], message: 'must not contain control, formatting or bidirectional characters' },
      ]);
    }
  });

  it('must be a string', () => {
    expect(noteIssues(42)).toEqual([{ path: ['note'], message: 'must be a string' }]);
  });

  it('is accepted by the server-specific schema too', () => {
    expect(createTokenRequestSchemaFor([7, 30]).parse({ name: 'ci', note: ' x ' }).note).toBe('x');
  });
});
