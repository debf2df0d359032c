/** The three states every list has besides "here are the rows". */
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
