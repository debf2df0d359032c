import { defineCommand } from 'citty';
import { globalArgs, outputArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';

export default defineCommand({
  meta: {
    description: 'change the instance policy; what is not given stays as it is; applies to new tokens at once',
    examples: [
      'latchkey admin policy set --max-lifetime 30',
      'latchkey admin policy set --service-max-lifetime none --personal-scopes namespaces:read,tokens:read',
      'latchkey admin policy set --idle-revoke 90',
    ],
  },
  args: {
    maxLifetime: { type: 'string', valueHint: 'days', description: 'the longest lifetime of a personal token, 1–3650 days' },
    serviceMaxLifetime: { type: 'string', valueHint: 'days|none', description: 'the longest lifetime of a service account’s token, 1–3650 days, or none' },
    personalScopes: { type: 'string', valueHint: 'scopes', description: 'the scopes personal tokens may carry, comma-separated' },
    idleRevoke: { type: 'string', valueHint: 'days|off', description: 'revoke tokens unused for this many days (1–3650), or off' },
    ...globalArgs,
    output: outputArg,
  },
  run: async (context) => (await loadActions()).setPolicy(ioOf(context), context.args),
});
