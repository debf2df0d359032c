/**
 * Where signed-out visits land. With OpenID Connect configured: "Sign in with <provider>";
 * otherwise how one-time links work. Either way the user comes back to where they were going.
 */
import { safeReturnPath } from '@latchkey/contract/return-path';
import { useEffect, useState } from 'react';
import { api, type SignInOptions } from '../api.js';
import { rememberReturnPath } from '../return-path.js';
import { useLocation } from '../router.js';

export function SignInPage() {
  const location = useLocation();
  const returnTo = safeReturnPath(new URLSearchParams(location.split('?')[1] ?? '').get('return_to')) ?? '/';
  const [options, setOptions] = useState<SignInOptions | 'loading' | 'failed'>('loading');

  useEffect(() => {
    document.title = 'Sign in · Latchkey';
    api.signInOptions().then(setOptions, () => setOptions('failed'));
  }, []);

  // One-time links always land on `/`: the console sends the user on from there.
  useEffect(() => rememberReturnPath(returnTo), [returnTo]);

  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Latchkey</h1>
      {options === 'loading' && (
        <p role="status" aria-live="polite">
          Loading sign-in options…
        </p>
      )}
      {options !== 'loading' && options !== 'failed' && options.oidc ? (
        <div className="actions">
          <a className="button" href={`/auth/oidc/start?return_to=${encodeURIComponent(returnTo)}`}>
            Sign in with {options.oidc.label}
          </a>
        </div>
      ) : (
        options !== 'loading' && (
          <>
            {options === 'failed' && (
              <p role="alert" className="form-error">
                Could not ask the server how to sign in; one-time links always work.
              </p>
            )}
            <p>This server signs people in with one-time links: there are no passwords.</p>
            <ul>
              <li>Ask an administrator of this Latchkey server for a sign-in link.</li>
              <li>
                If you run the server, print one with <code>latchkey-server signin-link --email you@example.com</code>.
              </li>
              <li>A link works once, within 15 minutes. Open it in this browser and press Sign in.</li>
            </ul>
          </>
        )
      )}
      {returnTo !== '/' && (
        <p className="muted">
          After signing in you will continue to <code>{returnTo}</code>.
        </p>
      )}
    </main>
  );
}
