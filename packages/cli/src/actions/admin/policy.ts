import { policySchema, TOKEN_LIFETIME_LIMIT_DAYS, type PolicyView } from '@latchkey/contract';
import { isTokenScope, TOKEN_SCOPES } from '@latchkey/contract/scopes';
import { UsageError } from '../../cli-errors.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { formatDate, renderFields, writeJson, type OutputFormat } from '../../output.js';

const PATH = '/api/v1/admin/policy';

const days = (value: number) => `${value} ${value === 1 ? 'day' : 'days'}`;

function writePolicy(io: CliIo, policy: PolicyView, output: OutputFormat | undefined): void {
  if (output === 'json') return writeJson(io.stdout, policy);
  io.stdout.write(
    renderFields([
      ['Personal token max lifetime', days(policy.maxLifetimeDays)],
      ['Service token max lifetime', policy.serviceMaxLifetimeDays === null ? `none (up to ${TOKEN_LIFETIME_LIMIT_DAYS} days)` : days(policy.serviceMaxLifetimeDays)],
      ['Personal token scopes', policy.personalScopes.join(', ')],
      ['Revoke idle tokens after', policy.idleRevokeDays === null ? 'off' : days(policy.idleRevokeDays)],
      ['Last changed', policy.updatedAt ? formatDate(policy.updatedAt) : 'never (the defaults)'],
    ]),
  );
}

/** `latchkey admin policy [show]` (admin:read). */
export async function showPolicy(io: CliIo, options: GlobalOptions & { output?: OutputFormat }): Promise<void> {
  const { client } = await connect(io, options);
  writePolicy(io, await client.send({ method: 'GET', path: PATH }, policySchema), options.output);
}

export interface SetPolicyOptions extends GlobalOptions {
  maxLifetime?: string;
  serviceMaxLifetime?: string;
  personalScopes?: string;
  idleRevoke?: string;
  output?: OutputFormat;
}

/** Whole days 1–3650, or (when `none` names the word for it) null. */
function policyDays(value: string, option: string, none?: string): number | null {
  const text = value.trim().toLowerCase();
  if (none && text === none) return null;
  const number = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(number >= 1 && number <= TOKEN_LIFETIME_LIMIT_DAYS)) {
    throw new UsageError(`${option} takes a whole number of days from 1 to ${TOKEN_LIFETIME_LIMIT_DAYS}${none ? ` or "${none}"` : ''}, not "${value}".`);
  }
  return number;
}

/**
 * `latchkey admin policy set [--max-lifetime DAYS] [--service-max-lifetime DAYS|none]
 * [--personal-scopes S,S] [--idle-revoke DAYS|off]` (admin:write): reads the policy, changes
 * what was given, and puts the whole of it back; every value is checked before any request.
 */
export async function setPolicy(io: CliIo, options: SetPolicyOptions): Promise<void> {
  const changes: Partial<Omit<PolicyView, 'updatedAt'>> = {};
  if (options.maxLifetime !== undefined) changes.maxLifetimeDays = policyDays(options.maxLifetime, '--max-lifetime')!;
  if (options.serviceMaxLifetime !== undefined) changes.serviceMaxLifetimeDays = policyDays(options.serviceMaxLifetime, '--service-max-lifetime', 'none');
  if (options.idleRevoke !== undefined) changes.idleRevokeDays = policyDays(options.idleRevoke, '--idle-revoke', 'off');
  if (options.personalScopes !== undefined) {
    const scopes = options.personalScopes
      .split(',')
      .map((scope) => scope.trim())
      .filter((scope) => scope !== '');
    const unknown = scopes.filter((scope) => !isTokenScope(scope));
    if (unknown.length > 0) throw new UsageError(`--personal-scopes: unknown scope ${unknown.map((scope) => `"${scope}"`).join(', ')}; the scopes are ${TOKEN_SCOPES.join(', ')}.`);
    if (scopes.length === 0) throw new UsageError('--personal-scopes needs at least one scope.');
    changes.personalScopes = TOKEN_SCOPES.filter((scope) => scopes.includes(scope));
  }
  if (Object.keys(changes).length === 0) {
    throw new UsageError('Say what to change: --max-lifetime, --service-max-lifetime, --personal-scopes or --idle-revoke.');
  }
  const { client } = await connect(io, options);
  const current = await client.send({ method: 'GET', path: PATH }, policySchema);
  const body = {
    maxLifetimeDays: current.maxLifetimeDays,
    serviceMaxLifetimeDays: current.serviceMaxLifetimeDays,
    personalScopes: current.personalScopes,
    idleRevokeDays: current.idleRevokeDays,
    ...changes,
  };
  const saved = await client.send({ method: 'PUT', path: PATH, body }, policySchema);
  if (options.output !== 'json') io.stderr.write('Policy saved; it applies to new tokens from now on.\n');
  writePolicy(io, saved, options.output);
}
