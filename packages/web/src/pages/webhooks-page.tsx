/**
 * Webhooks: endpoints that receive the owner's token events, signed per the Standard Webhooks
 * spec. New Webhook shows the signing secret once; each endpoint's deliveries (status, response,
 * duration, attempts) can be listed and sent again.
 */
import type { CreateWebhookResponse, WebhookDeliveryView, WebhookView } from '@latchkey/contract';
import { WEBHOOK_EVENT_DESCRIPTIONS, WEBHOOK_EVENTS, type WebhookEvent } from '@latchkey/contract/webhook-events';
import { useId, useState, type FormEvent } from 'react';
import { ApiError, api, errorMessage } from '../api.js';
import { ConfirmDelete } from '../components/confirm-dialog.js';
import { DialogActions, FormError } from '../components/form-parts.js';
import { Empty, ListTable, LoadError, Loading } from '../components/list-states.js';
import { Modal } from '../components/modal.js';
import { PageHeader } from '../components/page-header.js';
import { SecretReveal } from '../components/secret-reveal.js';
import { invalidate, useQuery } from '../query.js';
import { formatDateTime } from '../time.js';
import { useAction } from '../use-action.js';

const WEBHOOKS_KEY = 'webhooks';

export function WebhooksPage() {
  const webhooks = useQuery(WEBHOOKS_KEY, () => api.webhooks.list().then((body) => body.webhooks));
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreateWebhookResponse>();
  const [deleting, setDeleting] = useState<WebhookView>();
  const [showing, setShowing] = useState<string>();

  return (
    <>
      <PageHeader title="Webhooks" action="New Webhook" onAction={() => setCreating(true)} />
      <p className="lead">
        Endpoints that receive your tokens’ events (created, rotated, revoked, expiring, expired, leaked, refused from outside
        their allowlist), signed per the Standard Webhooks spec. Failed deliveries are retried for 24 hours; an endpoint failing
        for 3 days is disabled.
      </p>

      {webhooks.status === 'error' && <LoadError what="your webhooks" error={webhooks.error} onRetry={webhooks.reload} />}
      {webhooks.status === 'loading' && !webhooks.data && <Loading what="your webhooks" />}
      {webhooks.data && webhooks.data.length === 0 && (
        <Empty>
          <p>You have no webhooks yet.</p>
        </Empty>
      )}
      {webhooks.data && webhooks.data.length > 0 && (
        <ListTable caption="Your webhooks" columns={['Endpoint', 'Events', 'State', 'Created']} busy={webhooks.status === 'loading'}>
          {webhooks.data.map((webhook) => (
            <tr key={webhook.id}>
              <th scope="row" data-label="Endpoint">
                <code className="webhook-url">{webhook.url}</code>
                {webhook.description && <div className="hint">{webhook.description}</div>}
              </th>
              <td data-label="Events">{webhook.events.join(', ')}</td>
              <td data-label="State">
                <WebhookState webhook={webhook} />
              </td>
              <td data-label="Created">
                <time dateTime={webhook.createdAt}>{formatDateTime(webhook.createdAt)}</time>
              </td>
              <td className="actions" data-label="">
                {webhook.disabledAt !== null && <EnableButton webhook={webhook} />}
                <button
                  type="button"
                  className="secondary"
                  aria-expanded={showing === webhook.id}
                  onClick={() => setShowing(showing === webhook.id ? undefined : webhook.id)}
                  aria-label={`Deliveries of ${webhook.url}`}
                >
                  Deliveries
                </button>
                <button type="button" className="danger secondary" onClick={() => setDeleting(webhook)} aria-label={`Delete ${webhook.url}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </ListTable>
      )}
      {showing && webhooks.data?.some((webhook) => webhook.id === showing) && (
        <Deliveries webhook={webhooks.data.find((webhook) => webhook.id === showing)!} />
      )}

      {creating && (
        <NewWebhookDialog
          onClose={() => setCreating(false)}
          onCreated={(response) => {
            setCreating(false);
            setCreated(response);
            invalidate(WEBHOOKS_KEY);
          }}
        />
      )}
      {created && <WebhookSecretDialog created={created} onClose={() => setCreated(undefined)} />}
      {deleting && (
        <ConfirmDelete
          title="Delete webhook?"
          confirmLabel="Delete Webhook"
          onClose={() => setDeleting(undefined)}
          remove={() => api.webhooks.delete(deleting.id)}
          listKey={WEBHOOKS_KEY}
        >
          <p>
            <code>{deleting.url}</code> will receive no more events, and its deliveries are deleted. This cannot be undone.
          </p>
        </ConfirmDelete>
      )}
    </>
  );
}

function WebhookState({ webhook }: { webhook: WebhookView }) {
  if (webhook.disabledAt === null) return <span className="badge badge-active">Active</span>;
  return (
    <span className="badge badge-revoked" title={`Disabled ${formatDateTime(webhook.disabledAt)}`}>
      {webhook.disabledReason === 'failing' ? 'Disabled: failing for 3 days' : 'Disabled'}
    </span>
  );
}

/** Enables a disabled endpoint again (its failing streak starts afresh). */
function EnableButton({ webhook }: { webhook: WebhookView }) {
  const { busy, error, run } = useAction(async () => {
    await api.webhooks.update(webhook.id, { disabled: false });
    invalidate(WEBHOOKS_KEY);
  });
  return (
    <>
      <button type="button" className="secondary" onClick={() => void run()} disabled={busy && !error} aria-label={`Enable ${webhook.url}`}>
        Enable
      </button>
      <FormError message={error} />
    </>
  );
}

function Deliveries({ webhook }: { webhook: WebhookView }) {
  const key = `${WEBHOOKS_KEY}:${webhook.id}:deliveries`;
  const deliveries = useQuery(key, () => api.webhooks.deliveries(webhook.id).then((body) => body.deliveries));
  return (
    <section className="webhook-deliveries" aria-label={`Deliveries of ${webhook.url}`}>
      <div className="page-header">
        <h2>Deliveries</h2>
        <button type="button" className="secondary" onClick={() => deliveries.reload()}>
          Refresh
        </button>
      </div>
      <p className="hint">
        To <code>{webhook.url}</code>, newest first.
      </p>
      {deliveries.status === 'error' && <LoadError what="the deliveries" error={deliveries.error} onRetry={deliveries.reload} />}
      {deliveries.status === 'loading' && !deliveries.data && <Loading what="the deliveries" />}
      {deliveries.data && deliveries.data.length === 0 && (
        <Empty>
          <p>Nothing was sent to this endpoint yet.</p>
        </Empty>
      )}
      {deliveries.data && deliveries.data.length > 0 && (
        <ListTable caption="Deliveries" columns={['Event', 'Status', 'Response', 'Duration', 'Attempts', 'Time']} busy={deliveries.status === 'loading'}>
          {deliveries.data.map((delivery) => (
            <DeliveryRow key={delivery.id} webhookId={webhook.id} delivery={delivery} listKey={key} />
          ))}
        </ListTable>
      )}
    </section>
  );
}

function DeliveryRow({ webhookId, delivery, listKey }: { webhookId: string; delivery: WebhookDeliveryView; listKey: string }) {
  const { busy, error, run } = useAction(async () => {
    await api.webhooks.redeliver(webhookId, delivery.id);
    invalidate(listKey);
  });
  const time = delivery.lastAttemptAt ?? delivery.createdAt;
  return (
    <tr>
      <th scope="row" data-label="Event">
        <code>{delivery.event}</code>
      </th>
      <td data-label="Status">
        <span className={`badge ${delivery.status === 'succeeded' ? 'badge-active' : delivery.status === 'failed' ? 'badge-revoked' : 'badge-expiring'}`}>
          {delivery.status === 'succeeded' ? 'Delivered' : delivery.status === 'failed' ? 'Failed' : 'Pending'}
        </span>
      </td>
      <td data-label="Response">{delivery.responseStatus ?? delivery.error ?? '—'}</td>
      <td data-label="Duration">{delivery.durationMs === null ? '—' : `${delivery.durationMs} ms`}</td>
      <td data-label="Attempts">{delivery.attempts}</td>
      <td data-label="Time">
        <time dateTime={time}>{formatDateTime(time)}</time>
      </td>
      <td className="actions" data-label="">
        <button type="button" className="secondary" onClick={() => void run()} disabled={busy && !error} aria-label={`Redeliver ${delivery.event} of ${formatDateTime(delivery.createdAt)}`}>
          Redeliver
        </button>
        <FormError message={error} />
      </td>
    </tr>
  );
}

function NewWebhookDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (created: CreateWebhookResponse) => void }) {
  const id = useId();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<WebhookEvent[]>([...WEBHOOK_EVENTS]);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const problems: Record<string, string> = {};
    if (!/^https?:\/\/\S+$/.test(url)) problems.url = 'Enter an http or https URL.';
    if (events.length === 0) problems.events = 'Choose at least one event.';
    setFieldErrors(problems);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    setFormError(undefined);
    try {
      onCreated(await api.webhooks.create({ url, events, ...(description && { description }) }));
    } catch (failure) {
      const urlProblem = failure instanceof ApiError ? failure.fieldError('/url') : undefined;
      if (urlProblem) setFieldErrors({ url: `URL ${urlProblem}.` });
      else setFormError(errorMessage(failure));
      setBusy(false);
    }
  };

  return (
    <Modal title="New webhook" onClose={() => !busy && onClose()}>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${id}-url`}>Payload URL</label>
          <input
            id={`${id}-url`}
            type="url"
            value={url}
            autoComplete="off"
            spellCheck={false}
            required
            placeholder="https://example.com/hooks/latchkey"
            aria-invalid={fieldErrors.url ? true : undefined}
            aria-describedby={fieldErrors.url ? `${id}-url-error` : undefined}
            onChange={(change) => setUrl(change.target.value)}
          />
          {fieldErrors.url && (
            <p id={`${id}-url-error`} className="field-error" aria-live="polite">
              {fieldErrors.url}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${id}-description`}>Description (optional)</label>
          <input id={`${id}-description`} value={description} maxLength={200} onChange={(change) => setDescription(change.target.value)} />
        </div>
        <fieldset className="field">
          <legend>Events</legend>
          {WEBHOOK_EVENTS.map((type) => (
            <label key={type} className="checkbox">
              <input
                type="checkbox"
                checked={events.includes(type)}
                onChange={(change) =>
                  setEvents(change.target.checked ? WEBHOOK_EVENTS.filter((known) => known === type || events.includes(known)) : events.filter((chosen) => chosen !== type))
                }
              />{' '}
              <code>{type}</code> <span className="hint">{WEBHOOK_EVENT_DESCRIPTIONS[type]}</span>
            </label>
          ))}
          {fieldErrors.events && (
            <p className="field-error" aria-live="polite">
              {fieldErrors.events}
            </p>
          )}
        </fieldset>
        <FormError message={formError} />
        <DialogActions busy={busy} onCancel={onClose} label="Create Webhook" />
      </form>
    </Modal>
  );
}

/** The signing secret, shown once; closing before copying asks first. */
function WebhookSecretDialog({ created, onClose }: { created: CreateWebhookResponse; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  const [asking, setAsking] = useState(false);
  const close = () => (copied || asking ? onClose() : setAsking(true));
  return (
    <Modal title="Webhook created" onClose={close}>
      <p className="modal-body">
        Events go to <code>{created.url}</code>. Verify each request’s signature with this secret (see the Standard Webhooks
        libraries).
      </p>
      <SecretReveal secret={created.secret} what="signing secret" onCopied={() => setCopied(true)} />
      {asking && (
        <p role="alert" className="discard-confirm">
          You have not copied the signing secret. It cannot be shown again: close anyway?
        </p>
      )}
      <div className="modal-actions">
        <button type="button" onClick={close}>
          {asking ? 'Close without copying' : 'Done'}
        </button>
      </div>
    </Modal>
  );
}
