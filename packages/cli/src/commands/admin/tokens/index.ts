import { defineCommand } from 'citty';

export default defineCommand({
  meta: {
    description: 'list and revoke every account’s tokens',
    examples: ['latchkey admin tokens list --owner bob@example.com', 'latchkey admin tokens revoke 7f3e…-…'],
  },
  subCommands: {
    list: () => import('./list.js').then((module) => module.default),
    revoke: () => import('./revoke.js').then((module) => module.default),
  },
});
