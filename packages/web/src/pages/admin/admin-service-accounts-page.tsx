/**
 * Admin › Service accounts (/admin/service-accounts): non-human accounts that hold tokens an
 * administrator mints and that can never sign in. The list shows who created each; New service
 * account asks for a name and a description; Mint token opens the same dialog as a personal
 * token (its secret shown once); Delete is confirmed naming the account and how many of its
 * tokens stop working.
 */
import {
  SERVICE_ACCOUNT_DESCRIPTION_MAX_LENGTH,
  ACCOUNT_DISPLAY_NAME_MAX_LENGTH,
  TOKEN_LIFETIME_LIMIT_DAYS,
  TOKEN_SCOPES,
  ADMIN_SCOPES,
  type AdminServiceAccountView,
  type CreateTokenRequest,
  type CreateTokenResponse,
  type TokenSettingsView,
} from '@latchkey/contract';
import { useId, useState, type FormEvent } from 'react';
import { ApiError, api, errorMessage } from '../../api.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { DialogActions, FormError } from '../../components/form-parts.js';
import { Modal } from '../../components/modal.js';
import { NewTokenDialog, type DialogSettings } from '../../components/new-token-dialog.js';
import { invalidate } from '../../query.js';
import { formatDate } from '../../time.js';
import { usePaged } from '../../use-paged.js';
import { ADMIN_KEY, PagedTable, activeTokensSentence, adminKey } from './admin-common.js';

export interface AdminServiceAccountsClient {
  listServiceAccounts: typeof api.admin.listServiceAccounts;
  createServiceAccount: typeof api.admin.createServiceAccount;
  deleteServiceAccount: (id: string) => Promise<unknown>;
  mintServiceToken: (id: string, input: CreateTokenRequest) => Promise<CreateTokenResponse>;
  getPolicy: typeof api.admin.getPolicy;
  tokenSettings: () => Promise<DialogSettings>;
}

const defaultClient: AdminServiceAccountsClient = { ...api.admin, tokenSettings: api.tokenSettings };

/** How the creator is named: email, else name, else id; "a deleted account" once gone. */
const creatorLabel = (account: AdminServiceAccountView) =>
  account.createdBy ? (account.createdBy.email ?? account.createdBy.name ?? account.createdBy.id) : 'a deleted account';

/**
 * The lifetimes a service account's token may have: the personal choices up to the policy's
 * service maximum (or ten years without one), and that maximum; every scope but the admin ones.
 */
export function serviceTokenSettings(personal: DialogSettings, serviceMaxLifetimeDays: number | null): TokenSettingsView {
  const max = serviceMaxLifetimeDays ?? TOKEN_LIFETIME_LIMIT_DAYS;
  const choices = [...new Set([...personal.lifetimeChoices.filter((days) => days <= max), max])].sort((a, b) => a - b);
  return {
    maxLifetimeDays: max,
    defaultLifetimeDays: Math.min(180, max),
    lifetimeChoices: choices.includes(Math.min(180, max)) ? choices : [...choices, Math.min(180, max)].sort((a, b) => a - b),
    allowedScopes: TOKEN_SCOPES.filter((scope) => !ADMIN_SCOPES.includes(scope)),
  };
}

export function AdminServiceAccountsPage({ client = defaultClient }: { client?: AdminServiceAccountsClient }) {
  const list = usePaged(adminKey('service-accounts', {}), (cursor) =>
    client.listServiceAccounts({ cursor }).then((page) => ({ items: page.serviceAccounts, nextCursor: page.nextCursor })),
  );
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<AdminServiceAccountView>();
  const [minting, setMinting] = useState<AdminServiceAccountView>();

  return (
    <>
      <div className="page-header">
        <h1>Service accounts</h1>
        <button type="button" onClick={() => setCreating(true)}>
          New service account
        </button>
      </div>
      <p className="lead">
        Accounts for machines (CI, deploy scripts, other services). They never sign in: an administrator mints their tokens here, and
        each token’s secret is shown once.
      </p>

      <PagedTable
        what="service accounts"
        caption="Service accounts"
        columns={['Name', 'Created by', 'Active tokens', 'Created']}
        list={list}
        empty="No service accounts yet."
        row={(account) => (
          <tr key={account.id} data-service-account-id={account.id}>
            <th scope="row" data-label="Name">
              <span className="token-name-text">{account.name}</span>
              {account.description && <span className="muted token-note">{account.description}</span>}
            </th>
            <td data-label="Created by">{creatorLabel(account)}</td>
            <td data-label="Active tokens">{account.activeTokens}</td>
            <td data-label="Created">
              <time dateTime={account.createdAt}>{formatDate(account.createdAt)}</time>
            </td>
            <td className="actions" data-label="">
              <button type="button" className="secondary small" onClick={() => setMinting(account)} aria-label={`Mint token for ${account.name}`}>
                Mint token
              </button>{' '}
              <button type="button" className="danger secondary small" onClick={() => setDeleting(account)} aria-label={`Delete ${account.name}`}>
                Delete
              </button>
            </td>
          </tr>
        )}
      />

      {creating && <NewServiceAccountDialog client={client} onClose={() => setCreating(false)} />}
      {deleting && (
        <ConfirmDialog
          title="Delete service account?"
          confirmLabel="Delete Service Account"
          onClose={() => setDeleting(undefined)}
          onConfirm={async () => {
            await client.deleteServiceAccount(deleting.id);
            setDeleting(undefined);
            invalidate(ADMIN_KEY);
          }}
        >
          <p>
            <strong className="token-name-text">{deleting.name}</strong> and its tokens are deleted.{' '}
            {activeTokensSentence(deleting.activeTokens, 'for good')}
            {deleting.activeTokens > 0 && ` Scripts using ${deleting.activeTokens === 1 ? 'it' : 'them'} fail.`} This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
      {minting && (
        <NewTokenDialog
          title={`New token for ${minting.name}`}
          createdTitle={`New token for ${minting.name}`}
          settingsKey={`${ADMIN_KEY}/service-token-settings`}
          loadSettings={async () => {
            const [personal, policy] = await Promise.all([client.tokenSettings(), client.getPolicy()]);
            return serviceTokenSettings(personal, policy.serviceMaxLifetimeDays);
          }}
          create={(input) => client.mintServiceToken(minting.id, input)}
          onCreated={() => invalidate(ADMIN_KEY)}
          onClose={() => setMinting(undefined)}
        />
      )}
    </>
  );
}

/** Name (required) and description; the server's refusals shown at their fields. */
export function NewServiceAccountDialog({ client, onClose }: { client: Pick<AdminServiceAccountsClient, 'createServiceAccount'>; onClose: () => void }) {
  const id = useId();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<{ name?: string; description?: string; form?: string }>({});
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() === '') {
      setErrors({ name: 'Name must not be empty.' });
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      await client.createServiceAccount({ name: name.trim(), ...(description.trim() !== '' && { description: description.trim() }) });
      invalidate(ADMIN_KEY);
      onClose();
    } catch (failure) {
      setBusy(false);
      if (failure instanceof ApiError && failure.code === 'CONFLICT') setErrors({ name: failure.detail ?? 'A service account with this name already exists.' });
      else if (failure instanceof ApiError && failure.code === 'VALIDATION_FAILED') {
        const nameError = failure.fieldError('/name');
        const descriptionError = failure.fieldError('/description');
        setErrors({
          name: nameError && `Name ${nameError}.`,
          description: descriptionError && `Description ${descriptionError}.`,
          form: nameError || descriptionError ? undefined : errorMessage(failure),
        });
      } else setErrors({ form: errorMessage(failure) });
    }
  };

  return (
    <Modal title="New service account" onClose={() => !busy && onClose()}>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            value={name}
            maxLength={ACCOUNT_DISPLAY_NAME_MAX_LENGTH * 2}
            autoComplete="off"
            required
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={`${id}-name-hint${errors.name ? ` ${id}-name-error` : ''}`}
            onChange={(event) => setName(event.target.value)}
          />
          <p id={`${id}-name-hint`} className="hint">
            What the account is for, for example “ci-deploy”.
          </p>
          {errors.name && (
            <p id={`${id}-name-error`} className="field-error">
              {errors.name}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor={`${id}-description`}>Description</label>
          <textarea
            id={`${id}-description`}
            value={description}
            rows={2}
            maxLength={SERVICE_ACCOUNT_DESCRIPTION_MAX_LENGTH * 2}
            aria-invalid={errors.description ? true : undefined}
            aria-describedby={`${id}-description-hint${errors.description ? ` ${id}-description-error` : ''}`}
            onChange={(event) => setDescription(event.target.value)}
          />
          <p id={`${id}-description-hint`} className="hint">
            Optional: who runs it and where its tokens are used.
          </p>
          {errors.description && (
            <p id={`${id}-description-error`} className="field-error">
              {errors.description}
            </p>
          )}
        </div>
        <FormError message={errors.form} />
        <DialogActions busy={busy} onCancel={onClose} label="Create Service Account" />
      </form>
    </Modal>
  );
}
