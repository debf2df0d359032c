import { defineCommand } from 'citty';
import { DEFAULT_TOKEN_SCOPES, SCOPE_DESCRIPTIONS, TOKEN_SCOPES } from '@latchkey/contract/scopes';
import { repeatedOptionValues } from '../../repeated-options.js';
import { ioOf, loadActions } from '../load-actions.js';
import { globalArgs, outputArg } from '../common-args.js';

const scopeWidth = Math.max(...TOKEN_SCOPES.map((scope) => scope.length));

export const createTokenArgs = {
  name: { type: 'string', valueHint: 'name', description: 'the new token’s name (required)' },
  scope: {
    type: 'string',
    valueHint: 'scope',
    description: `what the token may do (listed below); repeat it or separate with commas (default: ${DEFAULT_TOKEN_SCOPES.join(' ')}, those of them the token in use holds)`,
  },
  namespace: {
    type: 'string',
    valueHint: 'pattern',
    description: 'limit the token to a namespace, or to a prefix ending in * (preview-*); repeat it or separate with commas (default: every namespace)',
  },
  allowIp: {
    type: 'string',
    valueHint: 'cidr',
    description: 'only from this address or CIDR range; repeat it or separate with commas (default: anywhere)',
  },
  expiresIn: { type: 'string', valueHint: 'days', description: 'lifetime in days, one the server offers (default 180)' },
  note: { type: 'string', valueHint: 'text', description: 'where the token is used' },
  ...globalArgs,
  output: outputArg,
} as const;

export default defineCommand({
  meta: {
    description: 'create a personal access token and print its secret, once (never broader than the token in use)',
    examples: [
      'latchkey token create --name ci-preview --scope namespaces:write --namespace "preview-*" --allow-ip 10.0.0.0/8',
      'latchkey token create --name reader --scope namespaces:read,tokens:read --expires-in 30',
    ],
    notes: `Scopes:\n${TOKEN_SCOPES.map((scope) => `  ${scope.padEnd(scopeWidth)}  ${SCOPE_DESCRIPTIONS[scope]}`).join('\n')}`,
    optionValues: { scope: TOKEN_SCOPES },
  },
  args: createTokenArgs,
  run: async (context) =>
    (await loadActions()).createToken(ioOf(context), {
      ...context.args,
      scopes: repeatedOptionValues(context.rawArgs, createTokenArgs, 'scope'),
      namespaces: repeatedOptionValues(context.rawArgs, createTokenArgs, 'namespace'),
      allowedIps: repeatedOptionValues(context.rawArgs, createTokenArgs, 'allowIp'),
    }),
});
