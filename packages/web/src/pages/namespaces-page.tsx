/** Namespaces: the list, New Namespace, and delete with confirmation. */
import type { NamespaceView } from '@latchkey/contract';
import { useState } from 'react';
import { api } from '../api.js';
import { ConfirmDelete } from '../components/confirm-dialog.js';
import { Empty, ListTable, LoadError, Loading } from '../components/list-states.js';
import { NewNamespaceDialog } from '../components/new-namespace-dialog.js';
import { PageHeader } from '../components/page-header.js';
import { invalidate, useQuery } from '../query.js';
import { formatDateTime } from '../time.js';

const NAMESPACES_KEY = 'namespaces';

export function NamespacesPage() {
  const namespaces = useQuery(NAMESPACES_KEY, () => api.listNamespaces().then((body) => body.namespaces));
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<NamespaceView>();

  return (
    <>
      <PageHeader title="Namespaces" action="New Namespace" onAction={() => setCreating(true)} />
      <p className="lead">
        Namespaces you own. From the command line: <code>latchkey namespace create NAME</code>.
      </p>

      {namespaces.status === 'error' && <LoadError what="your namespaces" error={namespaces.error} onRetry={namespaces.reload} />}
      {namespaces.status === 'loading' && !namespaces.data && <Loading what="your namespaces" />}
      {namespaces.data && namespaces.data.length === 0 && (
        <Empty>
          <p>You have no namespaces yet.</p>
        </Empty>
      )}
      {namespaces.data && namespaces.data.length > 0 && (
        <ListTable caption="Your namespaces" columns={['Name', 'Created']} busy={namespaces.status === 'loading'}>
          {namespaces.data.map((namespace) => (
            <tr key={namespace.id}>
              <th scope="row" data-label="Name">
                <code>{namespace.name}</code>
              </th>
              <td data-label="Created">
                <time dateTime={namespace.createdAt}>{formatDateTime(namespace.createdAt)}</time>
              </td>
              <td className="actions" data-label="">
                <button
                  type="button"
                  className="danger secondary"
                  onClick={() => setDeleting(namespace)}
                  aria-label={`Delete ${namespace.name}`}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </ListTable>
      )}

      {creating && (
        <NewNamespaceDialog
          onClose={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            invalidate(NAMESPACES_KEY);
          }}
        />
      )}
      {deleting && (
        <ConfirmDelete
          title="Delete namespace?"
          confirmLabel="Delete Namespace"
          onClose={() => setDeleting(undefined)}
          remove={() => api.deleteNamespace(deleting.name)}
          listKey={NAMESPACES_KEY}
        >
          <p>
            The namespace <code>{deleting.name}</code> and everything in it will be deleted. This cannot be undone.
          </p>
        </ConfirmDelete>
      )}
    </>
  );
}
