/**
 * Human output as aligned tables, machine output as JSON (`--output json`, stable field
 * names). Every cell is escaped: server text never reaches the terminal raw.
 */
import type { OutputStream } from './io.js';
import { escapeTerminalText, safeJson } from './terminal-text.js';

export type OutputFormat = 'table' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json'];

/** `2026-05-01 14:03 UTC`: a timestamp as people read it; `-` for none. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeTerminalText(iso);
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Who an account is, for people: its email, else its display name, else (only then) its id. */
export function accountLabel(account: { id: string; email: string | null; name?: string | null }): string {
  return account.email ?? account.name ?? account.id;
}

/** Columns padded to the widest cell; the last column is not padded. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = [headers, ...rows].map((row) => row.map((cell) => escapeTerminalText(cell)));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => [...(row[column] ?? '')].length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - [...cell].length)))
        .join('   ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** `Key:  value` lines, keys aligned. */
export function renderFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([key]) => key.length)) + 1;
  return fields.map(([key, value]) => `${`${key}:`.padEnd(width)}  ${escapeTerminalText(value)}\n`).join('');
}

export function writeJson(stream: OutputStream, value: unknown): void {
  stream.write(`${safeJson(value)}\n`);
}
