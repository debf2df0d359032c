/**
 * The new token, shown once: monospace, selectable, a Copy button with "Copied" feedback, and
 * the warning that it will not be shown again. It lives in this component's state only.
 */
import { useEffect, useId, useRef, useState } from 'react';

export interface SecretRevealProps {
  secret: string;
  /** Told once the secret has been copied (the dialog then closes without asking). */
  onCopied: () => void;
  /** What the secret is, in the warning and the field's label (default: a personal access token). */
  what?: string;
}

type CopyState = 'idle' | 'copied' | 'failed';

export function SecretReveal({ secret, onCopied, what = 'personal access token' }: SecretRevealProps) {
  const inputRef = useRef<HTMLInputElement>(null);
  const warningId = useId();
  const [copy, setCopy] = useState<CopyState>('idle');

  useEffect(() => {
    if (copy !== 'copied') return;
    const timer = setTimeout(() => setCopy('idle'), 2500);
    return () => clearTimeout(timer);
  }, [copy]);

  const copyToClipboard = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopy('copied');
      onCopied();
    } catch {
      // No clipboard access (permissions, an old browser): leave it selected for Ctrl+C.
      setCopy('failed');
      inputRef.current?.select();
    }
  };

  return (
    <div className="secret-reveal">
      <p id={warningId} className="warning" role="note">
        Make sure to copy your {what} now. You won’t be able to see it again!
      </p>
      <label htmlFor={`${warningId}-secret`} className="visually-hidden">
        {what === 'personal access token' ? 'Your new token' : `Your new ${what}`}
      </label>
      <div className="secret-row">
        <input
          id={`${warningId}-secret`}
          ref={inputRef}
          className="secret"
          readOnly
          value={secret}
          spellCheck={false}
          autoComplete="off"
          aria-describedby={warningId}
          onFocus={(event) => event.currentTarget.select()}
        />
        <button type="button" onClick={copyToClipboard} aria-describedby={`${warningId}-status`}>
          {copy === 'copied' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p id={`${warningId}-status`} className="copy-status" role="status" aria-live="polite">
        {copy === 'copied' ? 'Copied to the clipboard.' : copy === 'failed' ? `Could not copy: the ${what === 'personal access token' ? 'token' : what} is selected, press Ctrl+C (⌘C) to copy it.` : ''}
      </p>
    </div>
  );
}
