import { defineCommand } from 'citty';
import { globalArgs, yesArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';

const account = { type: 'positional', required: true, description: 'the account’s id or exact email' } as const;

export const disableCommand = defineCommand({
  meta: {
    description: 'disable an account: it is signed out and its tokens stop working until it is enabled again',
    examples: ['latchkey admin accounts disable bob@example.com', 'latchkey admin accounts disable 0b5c…-… --yes'],
  },
  args: { account, ...globalArgs, yes: yesArg },
  run: async (context) => (await loadActions()).changeAccount(ioOf(context), 'disable', context.args),
});

export const enableCommand = defineCommand({
  meta: {
    description: 'enable a disabled account: it may sign in again and its live tokens work again',
    examples: ['latchkey admin accounts enable bob@example.com'],
  },
  args: { account, ...globalArgs, yes: yesArg },
  run: async (context) => (await loadActions()).changeAccount(ioOf(context), 'enable', context.args),
});

export const deleteCommand = defineCommand({
  meta: {
    description: 'delete an account and everything it owns (its tokens, namespaces, sessions), for good',
    examples: ['latchkey admin accounts delete bob@example.com'],
  },
  args: { account, ...globalArgs, yes: yesArg },
  run: async (context) => (await loadActions()).changeAccount(ioOf(context), 'delete', context.args),
});
