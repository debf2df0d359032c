import { defineCommand } from 'citty';

export default defineCommand({
  meta: {
    description: 'the personal access token in use',
    examples: ['latchkey token show', 'latchkey token revoke --yes'],
  },
  subCommands: {
    show: () => import('./show.js').then((module) => module.default),
    revoke: () => import('./revoke.js').then((module) => module.default),
  },
});
