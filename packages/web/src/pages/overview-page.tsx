/** `/`: who you are and where to go; the CLI line to paste. */
import type { AccountView } from '@latchkey/contract';
import { Link } from '../router.js';

export function OverviewPage({ account }: { account: AccountView }) {
  return (
    <>
      <h1>Welcome{account.name ? `, ${account.name}` : ''}</h1>
      <p className="lead">
        Signed in as <strong>{account.email ?? account.name ?? account.id}</strong>
        {account.isAdmin ? ' (administrator)' : ''}.
      </p>
      <div className="cards">
        <section className="card">
          <h2>Personal access tokens</h2>
          <p>Create tokens for scripts, CI pipelines and the CLI; see when they expire and delete them.</p>
          <Link href="/settings/tokens">Manage tokens</Link>
        </section>
        <section className="card">
          <h2>Namespaces</h2>
          <p>Create and delete the namespaces you own.</p>
          <Link href="/namespaces">Manage namespaces</Link>
        </section>
      </div>
      <h2>Use a token from the command line</h2>
      <pre className="snippet">
        <code>{`latchkey context use ${window.location.origin} --token $TOKEN\nlatchkey namespace create my-namespace`}</code>
      </pre>
    </>
  );
}
