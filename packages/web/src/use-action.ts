/**
 * An action started from the console that may fail: `busy` while it runs, and its failure as a
 * message to show. On success `busy` stays true: what started it is about to go (a dialog
 * closes, a notice is dismissed), so it cannot be started twice.
 */
import { useState } from 'react';
import { errorMessage } from './api.js';

export function useAction(action: () => Promise<void>): { busy: boolean; error: string | undefined; run: () => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  };
  return { busy, error, run };
}
