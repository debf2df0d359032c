import { defineCommand } from 'citty';

export default defineCommand({
  meta: {
    description: 'create, list, delete and pick namespaces',
    examples: ['latchkey namespace create pr-123', 'latchkey namespace list --output json'],
  },
  subCommands: {
    create: () => import('./create.js').then((module) => module.default),
    list: () => import('./list.js').then((module) => module.default),
    delete: () => import('./delete.js').then((module) => module.default),
    use: () => import('./use.js').then((module) => module.default),
  },
});
