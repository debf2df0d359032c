import { defineCommand } from 'citty';

export default defineCommand({
  meta: {
    description: 'create, list, show, rotate and revoke personal access tokens',
    examples: ['latchkey token create --name ci --scope namespaces:write', 'latchkey token list', 'latchkey token revoke --yes'],
  },
  subCommands: {
    create: () => import('./create.js').then((module) => module.default),
    list: () => import('./list.js').then((module) => module.default),
    show: () => import('./show.js').then((module) => module.default),
    revoke: () => import('./revoke.js').then((module) => module.default),
    rotate: () => import('./rotate.js').then((module) => module.default),
  },
});
