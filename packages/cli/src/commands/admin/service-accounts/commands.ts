import { defineCommand } from 'citty';
import { SCOPE_DESCRIPTIONS, TOKEN_SCOPES } from '@latchkey/contract/scopes';
import { repeatedOptionValues } from '../../../repeated-options.js';
import { globalArgs, outputArg, yesArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';
import { createTokenArgs } from '../../token/create.js';

const serviceAccount = { type: 'positional', required: true, description: 'the service account’s id or exact name' } as const;

export const listCommand = defineCommand({
  meta: {
    description: 'list service accounts, newest first: name, description, who created it, active tokens, id',
    examples: ['latchkey admin service-accounts list', 'latchkey admin service-accounts list --output json'],
  },
  args: { ...globalArgs, output: outputArg },
  run: async (context) => (await loadActions()).listServiceAccounts(ioOf(context), context.args),
});

export const createCommand = defineCommand({
  meta: {
    description: 'create a service account (it can never sign in; mint it tokens with `mint`)',
    examples: ['latchkey admin service-accounts create ci-deploy --description "Deploys from CI"'],
  },
  args: {
    name: { type: 'positional', required: true, description: 'what the account is for, e.g. ci-deploy' },
    description: { type: 'string', valueHint: 'text', description: 'free text: who runs it, where its tokens are used' },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).createServiceAccount(ioOf(context), context.args),
});

export const deleteCommand = defineCommand({
  meta: {
    description: 'delete a service account and its tokens, for good',
    examples: ['latchkey admin service-accounts delete ci-deploy', 'latchkey admin service-accounts delete 0b5c…-… --yes'],
  },
  args: { id: serviceAccount, ...globalArgs, yes: yesArg },
  run: async (context) => (await loadActions()).deleteServiceAccount(ioOf(context), context.args),
});

const scopeWidth = Math.max(...TOKEN_SCOPES.map((scope) => scope.length));
const mintArgs = { id: serviceAccount, ...createTokenArgs } as const;

/** The options of `mint` and `token create`, and what they do: one definition for both. */
function mintTokenCommand(description: string, examples: string[]) {
  return defineCommand({
    meta: {
      description,
      examples,
      notes: `Lifetime: up to the policy's service maximum (\`latchkey admin policy\`). Admin scopes are refused.\nScopes:\n${TOKEN_SCOPES.map((scope) => `  ${scope.padEnd(scopeWidth)}  ${SCOPE_DESCRIPTIONS[scope]}`).join('\n')}`,
      optionValues: { scope: TOKEN_SCOPES },
    },
    args: mintArgs,
    run: async (context) =>
      (await loadActions()).mintServiceToken(ioOf(context), {
        ...context.args,
        scopes: repeatedOptionValues(context.rawArgs, mintArgs, 'scope'),
        namespaces: repeatedOptionValues(context.rawArgs, mintArgs, 'namespace'),
        allowedIps: repeatedOptionValues(context.rawArgs, mintArgs, 'allowIp'),
      }),
  });
}

export const mintCommand = mintTokenCommand('mint a token for a service account and print its secret, once (the short form of `token create`)', [
  'latchkey admin service-accounts mint ci-deploy --name deploy-2026 --scope namespaces:write --expires-in 90',
  'latchkey admin service-accounts mint ci-deploy --name reader --scope namespaces:read --output json',
]);

export const tokenCreateCommand = mintTokenCommand('create a token for a service account and print its secret, once (`mint` does the same)', [
  'latchkey admin service-accounts token create ci-deploy --name deploy-2026 --scope namespaces:write --expires-in 90',
  'latchkey admin service-accounts token create ci-deploy --name reader --scope namespaces:read --output json',
]);

/** `latchkey admin service-accounts token create SA …`: the issue's spelling of `mint`. */
export const tokenCommand = defineCommand({
  meta: {
    description: 'a service account’s tokens: create one (as `mint`)',
    examples: ['latchkey admin service-accounts token create ci-deploy --name deploy-2026 --expires-in 90'],
  },
  subCommands: {
    create: () => Promise.resolve(tokenCreateCommand),
  },
});
