/** The three states every list has besides "here are the rows", and the table the rows go in. */
import type { ReactNode } from 'react';
import { errorMessage } from '../api.js';

export function Loading({ what }: { what: string }) {
  return (
    <p className="list-state" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function LoadError({ what, error, onRetry }: { what: string; error: unknown; onRetry: () => void }) {
  return (
    <div className="list-state list-error" role="alert">
      <p>
        Could not load {what}. {errorMessage(error)}
      </p>
      <button type="button" className="secondary" onClick={onRetry}>
        Try again
      </button>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="list-state list-empty">{children}</div>;
}

/**
 * A list's table: `columns` head it, followed by an unnamed column for each row's actions; the
 * rows are the children. `busy` while the list reloads.
 */
export function ListTable({ caption, columns, busy, children }: { caption: string; columns: string[]; busy: boolean; children: ReactNode }) {
  return (
    <table className="list" aria-busy={busy || undefined}>
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
