import { defineCommand } from 'citty';
import { globalArgs, outputArg, yesArg } from '../../common-args.js';
import { ioOf, loadActions } from '../../load-actions.js';

export const listCommand = defineCommand({
  meta: {
    description: 'list addresses slowed down for presenting refused tokens, most failures first',
    examples: ['latchkey admin throttles list'],
  },
  args: { ...globalArgs, output: outputArg },
  run: async (context) => (await loadActions()).listThrottles(ioOf(context), context.args),
});

export const liftCommand = defineCommand({
  meta: {
    description: 'lift the throttle on an address: its refused tokens are forgotten',
    examples: ['latchkey admin throttles lift 203.0.113.9', 'latchkey admin throttles lift 2001:db8:1:2::/64 --yes'],
  },
  args: {
    address: { type: 'positional', required: true, description: 'the address as `throttles list` shows it' },
    ...globalArgs,
    yes: yesArg,
  },
  run: async (context) => (await loadActions()).liftThrottle(ioOf(context), context.args),
});

export default defineCommand({
  meta: {
    description: 'addresses throttled for presenting refused tokens: list and lift',
    examples: ['latchkey admin throttles list', 'latchkey admin throttles lift 203.0.113.9'],
  },
  subCommands: {
    list: () => Promise.resolve(listCommand),
    lift: () => Promise.resolve(liftCommand),
  },
});
