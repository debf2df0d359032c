/**
 * Admin › Throttled addresses (/admin/throttles): the client addresses currently slowed down
 * because they presented too many refused tokens, most failures first. Lifting one (confirmed)
 * forgets its failures, so a caller locked out by a misconfigured script can work again at once.
 */
import type { AdminThrottleView } from '@latchkey/contract';
import { useState } from 'react';
import { api } from '../../api.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { Empty, ListTable, LoadError, Loading } from '../../components/list-states.js';
import { invalidate, useQuery } from '../../query.js';
import { formatDateTime } from '../../time.js';
import { ADMIN_KEY } from './admin-common.js';

export interface AdminThrottlesClient {
  listThrottles: typeof api.admin.listThrottles;
  liftThrottle: (address: string) => Promise<unknown>;
}

const THROTTLES_KEY = `${ADMIN_KEY}/throttles`;

export function AdminThrottlesPage({ client = api.admin }: { client?: AdminThrottlesClient }) {
  const throttles = useQuery(THROTTLES_KEY, () => client.listThrottles().then((body) => body.throttles));
  const [lifting, setLifting] = useState<AdminThrottleView>();

  return (
    <>
      <div className="page-header">
        <h1>Throttled addresses</h1>
        <button type="button" className="secondary" onClick={throttles.reload}>
          Refresh
        </button>
      </div>
      <p className="lead">
        Addresses that presented too many refused tokens in the last few minutes are slowed down. Each is released on its own once its
        failures age out; lift one to release it now.
      </p>
      {!throttles.data ? (
        throttles.status === 'error' ? (
          <LoadError what="throttled addresses" error={throttles.error} onRetry={throttles.reload} />
        ) : (
          <Loading what="throttled addresses" />
        )
      ) : throttles.data.length === 0 ? (
        <Empty>
          <p>No address is throttled.</p>
        </Empty>
      ) : (
        <ListTable caption="Throttled addresses" columns={['Address', 'Refused tokens', 'Since', 'Released at']} busy={throttles.status === 'loading'}>
          {throttles.data.map((throttle) => (
            <tr key={throttle.address} data-address={throttle.address}>
              <th scope="row" data-label="Address">
                <code>{throttle.address}</code>
              </th>
              <td data-label="Refused tokens">{throttle.failures}</td>
              <td data-label="Since">
                <time dateTime={throttle.since}>{formatDateTime(throttle.since)}</time>
              </td>
              <td data-label="Released at">
                <time dateTime={throttle.until}>{formatDateTime(throttle.until)}</time>
              </td>
              <td className="actions" data-label="">
                <button type="button" className="secondary small" onClick={() => setLifting(throttle)} aria-label={`Lift ${throttle.address}`}>
                  Lift
                </button>
              </td>
            </tr>
          ))}
        </ListTable>
      )}
      {lifting && (
        <ConfirmDialog
          title="Lift throttle?"
          confirmLabel="Lift Throttle"
          onClose={() => setLifting(undefined)}
          onConfirm={async () => {
            await client.liftThrottle(lifting.address);
            setLifting(undefined);
            invalidate(THROTTLES_KEY);
          }}
        >
          <p>
            <code>{lifting.address}</code> is no longer slowed down and its {lifting.failures} refused{' '}
            {lifting.failures === 1 ? 'token is' : 'tokens are'} forgotten. If it keeps presenting bad tokens it is throttled again.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
